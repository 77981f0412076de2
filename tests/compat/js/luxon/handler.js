function handle(input) {
  const { DateTime, Duration, Interval } = luxon;
  const dt = DateTime.fromISO(input.date, { zone: 'utc' });
  return {
    iso: dt.plus({ days: 10, hours: 5 }).toISO(),
    formatted: dt.toFormat('yyyy LLL dd HH:mm'),
    german: dt.setLocale('de').toFormat('cccc, d. LLLL yyyy'),
    duration: Duration.fromObject({ hours: 2, minutes: 90 }).shiftTo('hours', 'minutes').toObject(),
    interval: Interval.fromDateTimes(dt, DateTime.fromISO(input.other, { zone: 'utc' })).length('days'),
    weekday: dt.weekdayLong,
  };
}
