// A refused form: the server's message lands beside the field it concerns.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fieldOf, fieldErrors } from '../../src/formErrors.js'

test('codes and details name the field', () => {
  assert.equal(fieldOf({ code: 'bad_title' }), 'title')
  assert.equal(fieldOf({ code: 'notice_too_short' }), 'opens_at')
  assert.equal(fieldOf({ code: 'bad_seats' }), 'seats')
  assert.equal(fieldOf({ code: 'bad_fraction', details: [{ field: 'custom.approval_head', message: 'x' }] }), 'custom.approval_head')
  assert.equal(fieldOf({ code: 'invalid_field', details: [{ field: 'title', message: 'x' }] }), 'title')
  assert.equal(fieldOf({ code: 'something_else' }), '')
  assert.equal(fieldOf(null), '')
})

test('fieldErrors keeps the server words and puts the unknown on the form', () => {
  assert.deepEqual(fieldErrors({ code: 'bad_period' }, '投票截止时间必须晚于开始时间'), { closes_at: '投票截止时间必须晚于开始时间' })
  assert.deepEqual(fieldErrors({ code: 'not_in_scope' }, '无权办理'), { _form: '无权办理' })
})
