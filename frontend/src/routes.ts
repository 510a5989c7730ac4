import { useEffect, useState } from 'react';

// Hash routes (`#/client`) need nothing from whoever serves the files, so the same build works
// behind nginx, `vite preview` or any static file server.
export type Route = 'home' | 'client' | 'employee' | 'operations';

export const ROUTES: readonly { route: Route; hash: string; label: string }[] = [
  { route: 'home', hash: '#/', label: 'Home' },
  { route: 'client', hash: '#/client', label: 'Client' },
  { route: 'employee', hash: '#/employee', label: 'Employee' },
  { route: 'operations', hash: '#/operations', label: 'Operations' },
];

export function routeOf(hash: string): Route {
  const path = hash.replace(/^#\/?/, '').split(/[/?]/)[0] ?? '';
  return ROUTES.find((item) => item.route === path)?.route ?? 'home';
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(window.location.hash));
  useEffect(() => {
    const follow = () => setRoute(routeOf(window.location.hash));
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, []);
  return route;
}
