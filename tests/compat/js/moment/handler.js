function handle(input) {
  const m = moment.utc(input.date);
  return {
    formatted: m.format('dddd, MMMM Do YYYY, h:mm:ss a'),
    iso: m.clone().add(1, 'month').add(2, 'weeks').toISOString(),
    startOfWeek: m.clone().startOf('isoWeek').format('YYYY-MM-DD'),
    diff: moment.utc(input.other).diff(m, 'days'),
    fromNow: m.from(moment.utc(input.other)),
    french: m.clone().locale('fr').format('LLLL'),
    duration: moment.duration(input.minutes, 'minutes').humanize(),
    parsed: moment.utc('15-03-2024 14:05', 'DD-MM-YYYY HH:mm').format(),
    valid: moment('2024-13-45', 'YYYY-MM-DD', true).isValid(),
    week: m.isoWeek(),
    calendar: m.calendar(moment.utc(input.date).add(1, 'day')),
  };
}
function leak_write() {
  moment.locale('fr');
  return moment.utc('2024-01-01').format('MMMM');
}
function leak_read() {
  return moment.utc('2024-01-01').format('MMMM') !== 'January';
}
