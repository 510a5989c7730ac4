import { describe, expect, it } from 'vitest';
import type { Alert } from './alerts';
import {
  describeNotificationState,
  notificationContent,
  notificationState,
  type NotificationState,
} from './notifications';

describe('notificationState', () => {
  it('is the browser’s permission', () => {
    expect(notificationState({ permission: 'default' }, true)).toBe('default');
    expect(notificationState({ permission: 'granted' }, true)).toBe('granted');
    expect(notificationState({ permission: 'denied' }, true)).toBe('denied');
  });

  it('says when there is nothing to ask for', () => {
    expect(notificationState(undefined, true)).toBe('unsupported');
    expect(notificationState({ permission: 'granted' }, false)).toBe('insecure');
    expect(notificationState({ permission: 'something new' }, true)).toBe('default');
  });

  it('is explained for every state', () => {
    const states: NotificationState[] = ['unsupported', 'insecure', 'default', 'granted', 'denied'];
    const texts = states.map(describeNotificationState);
    expect(new Set(texts).size).toBe(states.length);
    expect(describeNotificationState('granted')).toContain('Browser notifications are on');
    expect(describeNotificationState('denied')).toContain('blocked');
  });
});

describe('notificationContent', () => {
  const alert: Alert = {
    kind: 'BALANCE_BELOW',
    iban: 'NL02OPEN0000000001',
    message: 'Balance fell below € 100,00: now € 95,00',
    transaction_id: 42,
    transfer_id: null,
    at: '2026-11-30T08:15:02.123Z',
  };

  it('has the kind as title and the bank’s message with the IBAN as body', () => {
    expect(notificationContent(alert)).toEqual({
      title: 'Open Bank: Low balance',
      body: 'Balance fell below € 100,00: now € 95,00\nNL02OPEN0000000001',
      tag: 'NL02OPEN0000000001/BALANCE_BELOW/42',
    });
  });

  it('is tagged per alert, so tabs showing the same alert make one notification', () => {
    expect(notificationContent(alert).tag).toBe(notificationContent({ ...alert }).tag);
    expect(notificationContent(alert).tag).not.toBe(
      notificationContent({ ...alert, transaction_id: 43 }).tag,
    );
  });
});
