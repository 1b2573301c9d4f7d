import type { Located, YamlReader } from './yaml-reader.js';

/** Reports the second and later uses of a value, pointing back at the first. */
export class Unique<T> {
  private readonly first = new Map<T, number>();

  constructor(
    private readonly r: YamlReader,
    private readonly what: string,
  ) {}

  /** Records `value` at `at`; reports it when already seen. Returns true for a first use. */
  check(value: T, at: Located): boolean {
    const first = this.first.get(value);
    if (first === undefined) {
      this.first.set(value, at.at);
      return true;
    }
    this.r.problem(at, `duplicate ${this.what} ${JSON.stringify(value)} (first at line ${this.r.issues.lineOf(first)})`);
    return false;
  }
}
