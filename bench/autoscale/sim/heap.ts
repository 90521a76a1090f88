/** The simulation's event queue: a binary min-heap on (time, insertion
 * order), so events at one instant run in the order they were scheduled. */
export interface Timed {
  at: number;
}

export class EventHeap<T extends Timed> {
  private readonly items: { e: T; seq: number }[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  push(e: T): void {
    const items = this.items;
    items.push({ e, seq: this.seq++ });
    let i = items.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      [items[i], items[p]] = [items[p]!, items[i]!];
      i = p;
    }
  }

  peek(): T | undefined {
    return this.items[0]?.e;
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.less(l, m)) m = l;
        if (r < items.length && this.less(r, m)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m]!, items[i]!];
        i = m;
      }
    }
    return top?.e;
  }

  private less(i: number, j: number): boolean {
    const a = this.items[i]!;
    const b = this.items[j]!;
    return a.e.at < b.e.at || (a.e.at === b.e.at && a.seq < b.seq);
  }
}
