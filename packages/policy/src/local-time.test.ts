import { describe, expect, it } from 'vitest';
import { isValidTimeZone, localTimeIn } from './local-time.ts';

describe('localTimeIn', () => {
  it('gives day of week (0 = Sunday), hour and date in the zone', () => {
    expect(localTimeIn(new Date('2026-05-05T03:00:00Z'), 'UTC')).toEqual({ dayOfWeek: 2, hour: 3, date: '2026-05-05', dateNumber: 20260505 });
    expect(localTimeIn(new Date('2026-05-05T03:00:00Z'), 'America/New_York')).toEqual({ dayOfWeek: 1, hour: 23, date: '2026-05-04', dateNumber: 20260504 });
    expect(localTimeIn(new Date('2026-05-04T20:30:00Z'), 'Asia/Kolkata')).toEqual({ dayOfWeek: 2, hour: 2, date: '2026-05-05', dateNumber: 20260505 });
  });

  it('midnight is hour 0, and daylight saving time is followed', () => {
    expect(localTimeIn(new Date('2026-05-04T00:00:00Z'), 'UTC')?.hour).toBe(0);
    // New York moves to EDT at 07:00 UTC on 2026-03-08: 01:59 EST, then 03:00 EDT.
    expect(localTimeIn(new Date('2026-03-08T06:59:00Z'), 'America/New_York')?.hour).toBe(1);
    expect(localTimeIn(new Date('2026-03-08T07:00:00Z'), 'America/New_York')?.hour).toBe(3);
  });

  it('answers null for an unknown zone or an invalid date', () => {
    expect(localTimeIn(new Date(), 'Nowhere/Special')).toBeNull();
    expect(localTimeIn(new Date('x'), 'UTC')).toBeNull();
    expect(isValidTimeZone('Europe/Paris')).toBe(true);
    expect(isValidTimeZone('Europe/Atlantis')).toBe(false);
  });

  it('the per-minute memo does not mix zones or minutes', () => {
    const t = new Date('2026-05-04T12:00:30Z');
    expect(localTimeIn(t, 'UTC')?.hour).toBe(12);
    expect(localTimeIn(t, 'Asia/Tokyo')?.hour).toBe(21);
    expect(localTimeIn(new Date('2026-05-04T13:00:00Z'), 'UTC')?.hour).toBe(13);
  });
});
