function handle(input) {
  const d = dayjs.utc(input.date);
  return {
    iso: d.toISOString(),
    formatted: d.format('YYYY-MM-DD HH:mm:ss [week] d ddd MMMM'),
    plus: d.add(45, 'day').subtract(3, 'hour').format('YYYY-MM-DDTHH:mm'),
    startOfMonth: d.startOf('month').format(),
    endOfYear: d.endOf('year').toISOString(),
    diffDays: dayjs.utc(input.other).diff(d, 'day'),
    diffMonths: dayjs.utc(input.other).diff(d, 'month', true),
    before: d.isBefore(dayjs.utc(input.other)),
    french: d.locale('fr').format('dddd D MMMM YYYY'),
    duration: dayjs.duration(input.seconds, 'seconds').format('HH:mm:ss'),
    relative: d.from(dayjs.utc(input.other)),
    unix: d.unix(),
    valid: dayjs('not a date').isValid(),
    daysInMonth: dayjs.utc('2024-02-10').daysInMonth(),
  };
}
function leak_write() {
  dayjs.locale('fr');
  return dayjs.utc('2024-01-01').format('MMMM');
}
function leak_read() {
  return dayjs.utc('2024-01-01').format('MMMM') !== 'January';
}
