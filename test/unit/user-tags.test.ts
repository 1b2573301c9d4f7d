import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseTags } from '../../src/sink/target.js';
import { isAlbaError } from '../../src/errors.js';
import { REFERRERS_TAG_RE, userTagProblem } from '../../src/oci/names.js';
import { checkRecipe } from '../../src/recipe/parse.js';
import { parseReference } from '../../src/sink/registry/reference.js';

// The referrers tags (`sha256-<hex of a subject>`) are alba's links from an image to its SBOMs and
// push records: a user tag of that form would overwrite them. Every place a user names a tag
// refuses it (the CLI's -t of push and rm, image references, recipes).

const REFERRERS = `sha256-${'ab12'.repeat(16)}`;

describe('tags a user may name', () => {
  test('the referrers namespace is refused with its own hint; near misses are ordinary tags', () => {
    assert.match(userTagProblem(REFERRERS)?.problem ?? '', /referrers tag/);
    assert.match(userTagProblem(REFERRERS)?.hint ?? '', /SBOMs/);
    for (const ok of [
      'sha256-abc',
      `sha256-${'a'.repeat(63)}`,
      `sha256-${'a'.repeat(65)}`,
      `sha256-${'A'.repeat(64)}`,
      `sha512-${'a'.repeat(64)}`,
      '1.0',
      'latest',
    ]) {
      assert.equal(userTagProblem(ok), undefined, ok);
      assert.equal(REFERRERS_TAG_RE.test(ok), false, ok);
    }
    assert.match(userTagProblem('1.0+x')?.hint ?? '', /\+/);
    assert.match(userTagProblem('.x')?.problem ?? '', /not a valid tag/);
  });

  test("alba's removal tags (lease, epoch) are refused: a push there would be passed over by ls and gc, or replaced by the next removal", () => {
    for (const tag of ['alba-removal-lease', 'alba-removal-epoch']) {
      assert.match(userTagProblem(tag)?.problem ?? '', /a tag of alba's removals/, tag);
      assert.throws(
        () => parseTags([`app:${tag}`]),
        (err: unknown) => isAlbaError(err, 'USAGE'),
      );
    }
    assert.equal(userTagProblem('alba-removal'), undefined);
  });

  test('push -t NAME:sha256-<hex> is USAGE', () => {
    assert.throws(
      () => parseTags([`app:${REFERRERS}`]),
      (err: unknown) => isAlbaError(err, 'USAGE') && /referrers tag/.test(err.message) && /SBOMs/.test(err.hint ?? ''),
    );
    assert.throws(
      () => parseTags([REFERRERS]),
      (err: unknown) => isAlbaError(err, 'USAGE'),
    );
  });

  test('an image reference with a referrers tag is USAGE; with a digest it is fine', () => {
    assert.throws(
      () => parseReference(`127.0.0.1:5000/app:${REFERRERS}`),
      (err: unknown) => isAlbaError(err, 'USAGE') && /referrers tag/.test(err.message),
    );
    assert.equal(parseReference(`127.0.0.1:5000/app@sha256:${'ab12'.repeat(16)}`).digest, `sha256:${'ab12'.repeat(16)}`);
  });

  test('a recipe tag in the referrers namespace is a recipe problem', () => {
    const recipe = `name: test/app\narchs: [amd64]\nsnapshot: 20250520T000000Z\ndist: bookworm\npackages: [libc6]\ntag: ${REFERRERS}\n`;
    const issues = checkRecipe(recipe, 'r.yaml', '/recipes').issues;
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.match(issues[0]?.message ?? '', /referrers tag/);
  });
});
