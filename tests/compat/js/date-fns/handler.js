function handle(input) {
  const f = dateFns;
  const [y, m, d] = input.ymd;
  const date = new Date(y, m - 1, d, 9, 15, 0);
  const other = f.parse(input.other, 'dd/MM/yyyy', new Date(2000, 0, 1));
  return {
    formatted: f.format(date, "EEEE, do MMMM yyyy 'at' HH:mm"),
    plus: f.format(f.addBusinessDays(date, 10), 'yyyy-MM-dd'),
    weekStart: f.format(f.startOfWeek(date, { weekStartsOn: 1 }), 'yyyy-MM-dd'),
    diffDays: f.differenceInCalendarDays(other, date),
    isWeekend: f.isWeekend(date),
    leap: f.isLeapYear(date),
    distance: f.formatDistance(date, other),
    interval: f.eachDayOfInterval({ start: date, end: f.addDays(date, 3) }).map((x) => f.format(x, 'EEE d')),
    quarter: f.getQuarter(other),
    parsedIso: f.format(f.parseISO('2023-07-04'), 'MM/dd/yy'),
    durationText: f.formatDuration({ years: 1, months: 2, days: 3 }),
    valid: f.isValid(f.parse('31/02/2024', 'dd/MM/yyyy', new Date())),
  };
}
