// Where a server's refusal of a form belongs: the field its code (or its
// details' field) names, so the form shows the server's Chinese message
// beside that field. Codes the form does not know go to the top of the form.

const BY_CODE = {
  bad_title: 'title',
  bad_subject: 'subject',
  bad_body: 'body',
  bad_rule: 'rule',
  bad_mode: 'ballot_mode',
  bad_days: 'notice_days',
  notice_too_short: 'opens_at',
  bad_period: 'closes_at',
  period_too_long: 'closes_at',
  custom_rule_missing: 'custom',
  bad_threshold: 'custom',
  bad_candidates: 'candidates',
  bad_seats: 'seats',
  reraise_blocked: 'subject',
}

/** fieldOf names the form field a failed call belongs to ('' for the form). */
export function fieldOf(e) {
  const d = e && e.details
  if (Array.isArray(d) && d.length && typeof d[0].field === 'string') {
    return d[0].field
  }
  if (d && typeof d.field === 'string') return d.field
  return BY_CODE[e && e.code] || ''
}

/** fieldErrors turns a failed call into {field: message} (the server's words). */
export function fieldErrors(e, message) {
  return { [fieldOf(e) || '_form']: message }
}
