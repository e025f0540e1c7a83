import type { Clock, ClockTimer } from '@streamspace/protocol';

interface PendingTimer {
  id: number;
  dueAt: number;
  callback: () => void;
}

/** A Clock that moves only when the test says so. */
export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private timers: PendingTimer[] = [];

  constructor(start = Date.parse('2026-01-01T09:00:00Z')) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): ClockTimer {
    const timer = { id: this.nextId++, dueAt: this.current + Math.max(0, ms), callback };
    this.timers.push(timer);
    return { id: timer.id };
  }

  clearTimeout(timer: ClockTimer): void {
    this.timers = this.timers.filter((pending) => pending.id !== timer.id);
  }

  /** Move time forward, firing due timers in order (timers set while firing run too). */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.timers
        .filter((timer) => timer.dueAt <= target)
        .sort((a, b) => a.dueAt - b.dueAt || a.id - b.id)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.current = Math.max(this.current, due.dueAt);
      due.callback();
    }
    this.current = target;
  }

  get pendingTimers(): number {
    return this.timers.length;
  }
}
