import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clockFormat, dateTimeFormat } from '../../agents/data/feeds/csv-time-format.js';
import { FeedOptionsError } from '../../agents/data/feeds/feed.js';

const parse = (spec: string, value: string) => dateTimeFormat(spec).parse(value, 0, value.length);
const clock = (spec: string, value: string) => clockFormat(spec).parse(value, 0, value.length);
const utc = (iso: string) => Date.parse(iso);

describe('csv time formats: auto', () => {
  it.each([
    ['an ISO date at UTC midnight', '2020-01-02', '2020-01-02T00:00:00Z'],
    ['an ISO date-time without an offset as UTC', '2020-01-02T09:30:00', '2020-01-02T09:30:00Z'],
    ['an ISO date-time with a space and milliseconds', '2020-01-02 09:30:00.250', '2020-01-02T09:30:00.250Z'],
    ['an ISO date-time with Z', '2020-01-02T09:30Z', '2020-01-02T09:30:00Z'],
    ['an ISO date-time with an offset', '2020-01-02T09:30:00+02:00', '2020-01-02T07:30:00Z'],
    ['10 digits as epoch seconds', '1577957400', '2020-01-02T09:30:00Z'],
    ['epoch seconds with a fraction, to the millisecond', '1577957400.1259', '2020-01-02T09:30:00.125Z'],
    ['9 digits as epoch seconds (the 1990s)', '789091200', '1995-01-03T00:00:00Z'],
    ['13 digits as epoch milliseconds', '1577957400123', '2020-01-02T09:30:00.123Z'],
    ['12 digits as epoch milliseconds (the 1990s)', '789091200000', '1995-01-03T00:00:00Z'],
  ])('auto reads %s', (_name, value, iso) => {
    expect(parse('auto', value)).toBe(utc(iso));
  });

  it.each([
    ['YYYYMMDD, which would be a 1970 epoch', '20200102'],
    ['11 digits, seconds past 2286 or milliseconds before 1973', '15779574001'],
    ['16 digits (microseconds)', '1577957400123456'],
    ['a date that does not exist', '2020-02-30'],
    ['a date with slashes', '02/01/2020'],
    ['an empty value', ''],
    ['a number with a trailing letter', '1577957400s'],
  ])('auto refuses %s', (_name, value) => {
    expect(parse('auto', value)).toBeNaN();
  });

  it('explicit epoch units read any magnitude, and iso refuses epochs', () => {
    expect(parse('epoch-s', '86400')).toBe(utc('1970-01-02T00:00:00Z'));
    expect(parse('epoch-ms', '86400000')).toBe(utc('1970-01-02T00:00:00Z'));
    expect(parse('epoch-s', '-86400')).toBe(utc('1969-12-31T00:00:00Z'));
    expect(parse('epoch', '1577957400')).toBe(utc('2020-01-02T09:30:00Z'));
    expect(parse('epoch', '2020-01-02')).toBeNaN();
    expect(parse('iso', '1577957400')).toBeNaN();
    expect(parse('epoch-s', '9999999999999')).toBeNaN(); // past the last Date
  });

  it('epoch seconds and milliseconds of any instant read back to it', () => {
    fc.assert(
      fc.property(fc.integer({ min: utc('1973-03-04T00:00:00Z'), max: utc('2286-11-20T00:00:00Z') }), (ms) => {
        const s = Math.floor(ms / 1000);
        expect(parse('auto', String(ms))).toBe(ms);
        expect(parse('auto', String(s))).toBe(s * 1000);
        expect(parse('epoch-ms', String(ms))).toBe(ms);
      }),
    );
  });
});

describe('csv time formats: patterns', () => {
  it.each([
    ['%d/%m/%Y %H:%M', '02/01/2020 09:30', '2020-01-02T09:30:00Z'],
    ['%d/%m/%Y %H:%M', '2/1/2020 9:30', '2020-01-02T09:30:00Z'],
    ['%m/%d/%Y', '01/02/2020', '2020-01-02T00:00:00Z'],
    ['%Y%m%d', '20200102', '2020-01-02T00:00:00Z'],
    ['%Y%m%d %H%M%S', '20200102 093005', '2020-01-02T09:30:05Z'],
    ['%d-%b-%y', '02-Jan-20', '2020-01-02T00:00:00Z'],
    ['%d %B %Y', '2 january 1999', '1999-01-02T00:00:00Z'],
    ['%d.%m.%y', '31.12.69', '1969-12-31T00:00:00Z'],
    ['%m/%d/%Y %I:%M %p', '01/02/2020 12:15 AM', '2020-01-02T00:15:00Z'],
    ['%m/%d/%Y %I:%M %p', '01/02/2020 1:15 pm', '2020-01-02T13:15:00Z'],
    ['%FT%T.%f', '2020-01-02T09:30:05.5', '2020-01-02T09:30:05.500Z'],
    ['%FT%T.%f', '2020-01-02T09:30:05.123456789', '2020-01-02T09:30:05.123Z'],
    ['%F %T%z', '2020-01-02 09:30:00+0530', '2020-01-02T04:00:00Z'],
    ['%F %T%z', '2020-01-02 09:30:00-01:00', '2020-01-02T10:30:00Z'],
    ['%F %T%z', '2020-01-02 09:30:00Z', '2020-01-02T09:30:00Z'],
    ['%Y-%m-%d %%%H', '2020-01-02 %09', '2020-01-02T09:00:00Z'],
  ])('%s reads %s', (spec, value, iso) => {
    expect(parse(spec, value)).toBe(utc(iso));
  });

  it.each([
    ['%d/%m/%Y', '31/02/2020', 'a day the month does not have'],
    ['%d/%m/%Y', '01/13/2020', 'month 13'],
    ['%d/%m/%Y %H:%M', '01/01/2020 24:00', 'hour 24'],
    ['%d/%m/%Y', '01/01/2020 ', 'text after the pattern'],
    ['%d/%m/%Y', '01-01-2020', 'another literal'],
    ['%m/%d/%Y %I:%M %p', '01/02/2020 13:15 PM', 'hour 13 on a 12-hour clock'],
    ['%d-%b-%y', '02-Foo-20', 'an unknown month name'],
  ])('%s refuses %s (%s)', (spec, value) => {
    expect(parse(spec, value)).toBeNaN();
  });

  it('a pattern of any instant formatted with it reads back to that instant', () => {
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    fc.assert(
      fc.property(fc.integer({ min: utc('1900-01-01T00:00:00Z'), max: utc('2199-12-31T23:59:59Z') }), (ms) => {
        const d = new Date(ms);
        const text = `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
        expect(parse('%d/%m/%Y %H:%M:%S.%f', text)).toBe(ms);
      }),
    );
  });

  it('time-of-day patterns give milliseconds since midnight', () => {
    expect(clock('auto', '09:30')).toBe((9 * 60 + 30) * 60_000);
    expect(clock('%H%M%S', '093005')).toBe(((9 * 60 + 30) * 60 + 5) * 1000);
    expect(clock('%I:%M %p', '12:00 PM')).toBe(12 * 3_600_000);
    expect(clock('%H:%M', '9h30')).toBeNaN();
  });

  it.each([
    ['%d/%m/%Y %Q', 'date', /unknown directive %Q; expected auto, iso, epoch, epoch-s, epoch-ms or a pattern of %Y/],
    ['%d/%m/%Y %', 'date', /unknown directive at its end/],
    ['dd/mm/yyyy', 'date', /"dd\/mm\/yyyy" is no format/],
    ['%m/%Y', 'date', /needs a year \(%Y or %y\), a month \(%m or %b\) and a day \(%d\)/],
    ['%d/%m/%Y %I:%M', 'date', /%I and %p go together/],
    ['%d/%m/%Y/%m', 'date', /gives the same field twice \(%m\)/],
    ['%d/%b/%Y/%m', 'date', /gives the same field twice \(%m\)/],
    ['%Y-%m-%d %H', 'clock', /is for the time-of-day column: an hour \(%H or %I\) and no date fields/],
    ['%M:%S', 'clock', /is for the time-of-day column/],
  ])('the format %s for a %s column is refused, naming the key', (spec, role, message) => {
    const make = () => (role === 'date' ? dateTimeFormat(spec, '--csv-time-format') : clockFormat(spec, 'clockFormat'));
    expect(make).toThrow(FeedOptionsError);
    expect(make).toThrow(role === 'date' ? /^--csv-time-format: / : /^clockFormat: /);
    expect(make).toThrow(message);
  });
});
