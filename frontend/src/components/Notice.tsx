import type { ReactNode } from 'react';

/** An error the user should read (announced at once), or a success (announced politely). */
export function Notice({ kind, children }: { kind: 'error' | 'success'; children: ReactNode }) {
  return kind === 'error' ? (
    <p className="notice notice-error" role="alert">
      {children}
    </p>
  ) : (
    <p className="notice notice-success" role="status">
      {children}
    </p>
  );
}
