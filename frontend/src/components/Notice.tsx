import type { ReactNode } from 'react';

/** The outcome of something the user did, to show next to where they did it. */
export type Outcome = { kind: 'error' | 'success'; text: string } | null;

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
