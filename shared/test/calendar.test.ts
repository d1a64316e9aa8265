import { expect } from 'chai';
import { isTimeZone, todayIn } from '../src/calendar';

describe('the org calendar', () => {
  it("reads today in the org's zone, not the server's", () => {
    // 22:30 UTC on 31 March is already 1 April in Réunion (UTC+4), still 31 March in Guadeloupe (UTC-4).
    const now = new Date(Date.UTC(2026, 2, 31, 22, 30));
    expect(todayIn('Indian/Reunion', now)).to.equal('2026-04-01');
    expect(todayIn('America/Guadeloupe', now)).to.equal('2026-03-31');
    // Paris changed to summer time on 29 March: 00:30 local.
    expect(todayIn('Europe/Paris', now)).to.equal('2026-04-01');
    expect(todayIn('Europe/Paris', new Date('2026-03-01T22:30:00Z'))).to.equal('2026-03-01');
    expect(() => todayIn('Mars/Olympus', now)).to.throw(RangeError);
  });

  it('takes IANA zone names only: not offsets, abbreviations or unknown names', () => {
    for (const zone of ['Europe/Paris', 'Indian/Reunion', 'America/Martinique', 'Pacific/Noumea', 'UTC']) expect(isTimeZone(zone), zone).to.equal(true);
    for (const zone of ['+02:00', 'CET', 'EST', 'Mars/Olympus', '', 'europe/paris/x']) expect(isTimeZone(zone), zone).to.equal(false);
  });
});
