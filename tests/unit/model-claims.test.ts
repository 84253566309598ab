import { describe, expect, it } from 'vitest';
import { claimsAction, groundTruth, withoutInventedIds } from '../../interfaces/chat/model-claims.js';

const none = new Set<string>();

describe('model claims', () => {
  it.each([
    'Done! I executed the order.',
    'Done.',
    "I've placed the order for 10 ORCL.",
    'I have sold 5 ORCL for you.',
    'We just bought 10 ORCL.',
    'Your order has been filled at 101.2.',
    'The order was executed successfully.',
    'Trading is now halted.',
    'Trading has been resumed.',
    'The limits were updated: maxDrawdown is 20%.',
    'Order placed: buy 10 ORCL.',
    'Bought 10 ORCL at market.',
    'Successfully submitted your trade.',
    'OK. I confirmed preview abc234 for you.',
    'It has been done.',
    'All set, the position is closed now.\nExecuted.',
  ])('a claim of an action is recognised: %s', (text) => {
    expect(claimsAction(text)).toBe(true);
  });

  it.each([
    'You hold 5 ORCL and 1000 USD in cash (corr-pf-1).',
    'No order was sent.',
    'The order was not executed: risk refused it (max_position).',
    'I prepared a preview to buy 10 ORCL; confirm it yourself if you want it.',
    'Your PnL today is +12.40 USD.',
    'The strategy signalled a buy on ORCL because SMA10 crossed above SMA30.',
    'Trading is active; nothing is halted.',
    'There are 2 open orders.',
  ])('a plain report is no claim: %s', (text) => {
    expect(claimsAction(text)).toBe(false);
  });

  it('an invented preview id does not survive, anywhere in the text', () => {
    const text = withoutInventedIds('Done! I executed the order. Preview abc234: buy.', none, '');
    expect(text).toBe('Done! I executed the order. Preview: buy.');
    expect(withoutInventedIds('Your preview is abc234, just say so.', none, '')).toBe(
      'Your preview is [no such preview], just say so.',
    );
    expect(withoutInventedIds('preview id: xk7mpq', none, '')).not.toContain('xk7mpq');
    expect(withoutInventedIds('See preview #Q9 above', none, '')).toBe('See preview above');
    expect(withoutInventedIds('Type `confirm abc234` to go ahead.', none, '')).not.toContain('abc234');
    expect(withoutInventedIds('Type confirm P1 to go ahead.', none, '')).not.toMatch(/confirm P1/);
  });

  it("the person's real pending ids, and ids the tools returned, stay; plain words after preview stay", () => {
    expect(withoutInventedIds('Preview abc234 buys 10 ORCL.', new Set(['abc234']), '')).toBe(
      'Preview abc234 buys 10 ORCL.',
    );
    expect(withoutInventedIds('Order ab23cd is open.', none, '{"clientOrderId":"x-ab23cd"}')).toBe(
      'Order ab23cd is open.',
    );
    expect(withoutInventedIds('The preview shows the risk check; confirm the order below.', none, '')).toBe(
      'The preview shows the risk check; confirm the order below.',
    );
    // confirm instructions never come from the model, real id or not: the real preview carries its own
    expect(withoutInventedIds('confirm abc234', new Set(['abc234']), '')).not.toContain('abc234');
  });

  it('the ground truth lists what waits for the person, or says none', () => {
    expect(groundTruth([], 0)).toMatch(
      /^No order was sent and nothing was changed by this answer; pending previews: none\./,
    );
    const now = 1_000_000;
    expect(
      groundTruth(
        [
          { id: 'abc234', command: 'buy', summary: 'buy 10 ORCL at market', expiresAt: now + 90_000 },
          { id: 'old999', command: 'halt', summary: 'halt all trading', expiresAt: now - 1 },
        ],
        now,
      ),
    ).toContain('pending previews: abc234 (buy 10 ORCL at market; 90 s left).');
  });
});
