import { describe, expect, it } from 'vitest';
import { CONSISTENCY_HEADER, ConsistencyToken } from './consistency';

describe('ConsistencyToken', () => {
  it('sends nothing before an answer names positions', () => {
    const token = new ConsistencyToken();
    token.remember(undefined);
    token.remember({ other: 1 });
    expect(token.headers()).toEqual({});
  });

  it('merges answers that come back out of order, keeping the later offset of each partition', () => {
    const token = new ConsistencyToken();
    token.remember({ consistency: 'bank_events:3:12,user_events:0:4' });
    token.remember({ consistency: 'bank_events:3:9,bank_events:5:2' });
    expect(token.headers()).toEqual({
      [CONSISTENCY_HEADER]: 'bank_events:3:12,bank_events:5:2,user_events:0:4',
    });
  });

  it('skips what it cannot read rather than sending it back', () => {
    const token = new ConsistencyToken();
    token.remember({ consistency: 'bank_events:3,bank_events:1:x,bank_events:2:7' });
    expect(token.headers()).toEqual({ [CONSISTENCY_HEADER]: 'bank_events:2:7' });
  });
});
