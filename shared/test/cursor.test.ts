import { expect } from 'chai';
import { decodeCursor, decodeTimeCursor, encodeCursor, encodeTimeCursor } from '../src/cursor';

describe('page cursors', () => {
  it('give back the sort key they were made from, when the list accepts it', () => {
    const key = 'dupont\u0001marie\u0001e3b0c442-98fc-4c14-9afb-f4c8996fb924';
    expect(decodeCursor(encodeCursor(key), (k) => k.includes('\u0001'))).to.equal(key);
    expect(decodeCursor(encodeCursor('something else'), (k) => k.includes('\u0001'))).to.equal(null);
  });

  it('time cursors: the time and id round-trip, ids with separators included; garbage and bad times are refused', () => {
    const at = new Date('2026-10-13T17:00:00.000Z');
    expect(decodeTimeCursor(encodeTimeCursor(at, 'digest:p1:2026-10-13T17:00:00.000Z:letter'))).to.deep.equal({
      at,
      id: 'digest:p1:2026-10-13T17:00:00.000Z:letter',
    });
    expect(decodeTimeCursor(encodeTimeCursor(at, 'not-a-uuid'), (id) => /^[0-9a-f-]{36}$/.test(id))).to.equal(null);
    expect(decodeTimeCursor('not a cursor')).to.equal(null);
    expect(decodeTimeCursor(encodeCursor('2026-13-45T99:00:00.000Z|x'))).to.equal(null);
    expect(decodeTimeCursor(encodeCursor('2026-10-13T17:00:00.000Z|'))).to.equal(null);
  });
});
