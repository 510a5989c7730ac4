import { useEffect, useRef } from 'react';

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
