// A handler that misbehaves on request, to show (and test) how the server maps each failure to a status code.
// {"do": "throw"} -> 422 exception     {"do": "loop"}    -> 504 timeout
// {"do": "alloc"} -> 422 memory        {"do": "recurse"} -> 422 stack
// {"do": "busy", "ms": 50} -> 200 after about 50 ms of CPU work     anything else -> 200 {"ok": true}
function handle(request) {
  switch (request.do) {
    case "throw":
      throw new Error("faults: thrown on request");
    case "loop":
      for (;;) {}
    case "alloc": {
      const hoard = [];
      for (;;) hoard.push("x".repeat(262144) + hoard.length);
    }
    case "recurse": {
      const down = (n) => down(n + 1) + 1;
      return down(0);
    }
    case "busy": {
      const until = Date.now() + (request.ms || 0);
      let spins = 0;
      while (Date.now() < until) spins++;
      return { ok: true, spins: spins > 0 };
    }
    default:
      return { ok: true };
  }
}
