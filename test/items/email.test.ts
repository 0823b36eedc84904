import { describe, expect, it } from 'vitest';
import { email } from '../../src/items/email.js';

/** What the e-mail type adds to the generic flow (src/items/email.ts); its fields: test/items/definitions.test.ts. */
describe('email', () => {
  const alsoSynchronises = (itemClass: string, meetingRequestsResponses: boolean) =>
    email.behaviour.alsoSynchronises?.(itemClass, { meetingRequestsResponses });

  it('takes meeting requests, responses and cancellations only with sync.meetingRequestsResponses', () => {
    for (const itemClass of [
      'IPM.Schedule.Meeting',
      'IPM.Schedule.Meeting.Request',
      'ipm.schedule.meeting.resp.tent',
      'IPM.Schedule.Meeting.Canceled',
    ]) {
      expect(alsoSynchronises(itemClass, true), itemClass).toBe(true);
      expect(alsoSynchronises(itemClass, false), itemClass).toBe(false);
    }
  });

  it('takes nothing that merely starts like a meeting message', () => {
    expect(alsoSynchronises('IPM.Schedule.MeetingRoom', true)).toBe(false);
    expect(alsoSynchronises('IPM.Schedule.Inquiry', true)).toBe(false);
    expect(alsoSynchronises('IPM.Appointment', true)).toBe(false);
  });
});
