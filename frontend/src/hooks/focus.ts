import { useEffect, useRef, useState } from 'react';

/**
 * A ref for a heading that takes the focus when it appears because of something the user did
 * (logging in or out, a session ending), so keyboard and screen reader users are not left on a
 * button that just disappeared. On a plain page load the focus stays where the browser put it.
 */
export function useFocusOnAppear<T extends HTMLElement>(when: boolean) {
  const ref = useRef<T>(null);
  useEffect(() => {
    if (when) ref.current?.focus();
    // Only on appearing: later renders must not pull the focus back.
  }, []);
  return ref;
}

/**
 * True once whether someone is logged in changed while this view was shown: then the focus
 * should follow to the form or the content that appeared; on arriving at the view it should not.
 */
export function useLoginChangedHere(loggedIn: boolean): boolean {
  const [initial] = useState(loggedIn);
  const [changed, setChanged] = useState(false);
  // Adjusting state while rendering, as React recommends for values derived from props.
  if (!changed && loggedIn !== initial) setChanged(true);
  return changed || loggedIn !== initial;
}
