import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planReport } from '../../src/lifecycle/plan-report.js';
import type { BucketRemovalPlan } from '../../src/lifecycle/removal-plan.js';

// The notes of a removal's plan name the command that fixes what they report.
const plan: BucketRemovalPlan = {
  tags: [],
  unlist: [],
  journal: [],
  phases: [[], [], []],
  unlisted: ['0.4.0'],
  uploads: [],
  attachments: [],
  objects: [],
  bytes: 0,
};

test('an unlisted tag is reported with the repair of its kind: alba static repair for static binaries, alba container repair for images', () => {
  assert.match(planReport(plan, true, 's3://b/df-dist-v1/app', 'static').notes.join('\n'), /alba static repair lists it again/);
  assert.match(planReport(plan, true, 's3://b/v2/app/').notes.join('\n'), /alba container repair lists it again/);
});
