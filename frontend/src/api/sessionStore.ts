// The session of one role (customer or employee) and the API that goes with it, for the whole
// tab: in memory only. React reads it with useSyncExternalStore (hooks/sessions.ts); the views,
// the timers and the activity listener change it through these methods.

import type { Endpoint } from '../config';
import {
  expiredNotice,
  isExpired,
  refusalEffect,
  refusedNotice,
  sessionFromAnswer,
  shouldRefresh,
  type RefusalEffect,
  type Role,
  type Session,
  type SessionEnd,
} from '../sessions';
import { unauthenticatedMessage } from './auth';
import { createApi, type Api, type DisposableApi, type SessionAccess } from './client';
import { describeError } from './errors';
import { LOGOUT, REFRESH_SESSION } from './sessionOperations';

export interface SessionState {
  /** Null while nobody of this role is logged in. */
  session: Session | null;
  /** Why the last session ended, until the next one starts. */
  ended: SessionEnd;
  /** The API to use: it sends `session` along, and is a new one for every new session. */
  api: Api;
}

export type ApiFactory = (endpoint: Endpoint, access: SessionAccess) => DisposableApi;

/** How long a logout waits for the endpoint before the session ends here anyway. */
export const LOGOUT_WAIT_MS = 5_000;

export class SessionStore {
  private state: SessionState;
  private api: DisposableApi;
  /** The newest token of the session the current API was made for; refreshes change it. */
  private current: { token: string | null };
  private readonly listeners = new Set<() => void>();
  /** Counts the sessions (and ends of sessions): an answer for an earlier one changes nothing. */
  private generation = 0;
  private lastRefreshAt = 0;
  private refreshing = false;

  constructor(
    readonly role: Role,
    private readonly endpoint: Endpoint,
    private readonly makeApi: ApiFactory = createApi,
  ) {
    this.current = { token: null };
    this.api = this.apiFor(this.current);
    this.state = { session: null, ended: null, api: this.api };
  }

  get = (): SessionState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** A login: a new API, whose socket connects with the new session. */
  start(session: Session, now = Date.now()): void {
    this.lastRefreshAt = now;
    this.replace(session, null);
  }

  /** The expiry timer fired: ends `session` if it is still the one and its time is up. */
  expire(session: Session, now = Date.now()): void {
    if (this.state.session === session && isExpired(session, now)) {
      this.replace(null, {
        kind: 'expired',
        text: expiredNotice(this.role, session, new Date(now)),
      });
    }
  }

  /**
   * The endpoint answered UNAUTHENTICATED to a request sent with `tokenUsed`: the session ends
   * when that was its current token; an older token (refreshed since) changes nothing.
   */
  refused = (message: string, tokenUsed: string | null): RefusalEffect => {
    const session = this.state.session;
    const effect = refusalEffect(session, tokenUsed);
    if (effect === 'ended') {
      this.replace(null, {
        kind: 'expired',
        text: refusedNotice(this.role, session, message, new Date()),
      });
    }
    return effect;
  };

  /** The user did something: asks for a new token, at most once a minute (see shouldRefresh). */
  async refresh(now = Date.now()): Promise<void> {
    const session = this.state.session;
    const check = { session, lastRefreshAt: this.lastRefreshAt, refreshing: this.refreshing, now };
    if (session === null || !shouldRefresh(check)) return;
    const generation = this.generation;
    this.refreshing = true;
    this.lastRefreshAt = now;
    try {
      const result = await this.state.api.client.mutation(REFRESH_SESSION, {}).toPromise();
      const answer = sessionFromAnswer(session.username, result.data?.refresh_session);
      // A refusal ends the session through `refused`; a reason without a token leaves it to run
      // out (the expiry timer ends it), and the next activity tries again.
      if ('session' in answer && this.generation === generation) {
        this.current.token = answer.session.token;
        this.state = { ...this.state, session: answer.session };
        this.notify();
      }
    } finally {
      this.refreshing = false;
    }
  }

  /**
   * Ends the session at the endpoint (every replica), then here: the next request with its token
   * is refused. Here it ends whatever the endpoint answers, after LOGOUT_WAIT_MS at the latest.
   */
  async logOut(): Promise<void> {
    const session = this.state.session;
    if (session === null) return;
    const generation = this.generation;
    let giveUp: ReturnType<typeof setTimeout> | undefined;
    const answer = await Promise.race([
      this.state.api.client.mutation(LOGOUT, {}).toPromise(),
      new Promise<null>((resolve) => (giveUp = setTimeout(() => resolve(null), LOGOUT_WAIT_MS))),
    ]);
    clearTimeout(giveUp);
    // Another session may have started meanwhile, in another view of the tab.
    if (this.generation !== generation && this.state.session !== null) return;
    // UNAUTHENTICATED: the endpoint no longer knew the session, which is as good as ended.
    const confirmed =
      answer?.data?.logout?.success === true || unauthenticatedMessage(answer?.error) !== null;
    const why =
      answer === null
        ? 'no answer'
        : answer.error
          ? describeError(answer.error, this.endpoint.http)
          : (answer.data?.logout?.reason ?? 'no answer');
    this.replace(null, {
      kind: 'loggedOut',
      text: confirmed
        ? 'You logged out.'
        : `You logged out here; the bank could not confirm it (${why}), so the session ends when it expires.`,
    });
  }

  private apiFor(current: { token: string | null }): DisposableApi {
    return this.makeApi(this.endpoint, { token: () => current.token, refused: this.refused });
  }

  private replace(session: Session | null, ended: SessionEnd): void {
    const old = this.api;
    this.generation += 1;
    this.current = { token: session?.token ?? null };
    this.api = this.apiFor(this.current);
    this.state = { session, ended, api: this.api };
    this.notify();
    old.dispose();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
