// The console's one API module: every view calls the server through the
// functions below and never builds a URL itself. It keeps the staff
// session in sessionStorage (gone when the tab closes), sends the bearer
// token, trades the refresh token for a new pair once on a 401, and turns
// every failure into an ApiError whose message is the server's Chinese
// message (never raw JSON or a code).

const BASE = '/api/v1'
const SESSION_KEY = 'louyuan.console.session'

/** ApiError is a failed call: `message` is Chinese text for the page. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message)
    this.status = status
    this.code = code
    this.details = details
  }
}

const NETWORK_MESSAGE = '无法连接服务器，请检查网络后重试'
const UNEXPECTED_MESSAGE = '服务器暂时无法处理，请稍后重试'
export const EXPIRED_MESSAGE = '登录已过期，请重新登录'

let storage = globalThis.sessionStorage
let fetchFn = (...args) => globalThis.fetch(...args)
const listeners = new Set()

/** configure replaces storage and fetch (unit tests). */
export function configure({ storage: s, fetch: f } = {}) {
  if (s) storage = s
  if (f) fetchFn = f
}

/** onSessionEnd registers fn(reason) for when the session ends by itself. */
export function onSessionEnd(fn) {
  listeners.add(fn)
  return () => listeners.delete(fn)
}

export function session() {
  try {
    return JSON.parse(storage.getItem(SESSION_KEY) || 'null')
  } catch {
    return null
  }
}

function saveSession(s) {
  if (s) storage.setItem(SESSION_KEY, JSON.stringify(s))
  else storage.removeItem(SESSION_KEY)
}

export function loggedIn() {
  return !!session()?.access_token
}

function endSession(reason) {
  saveSession(null)
  for (const fn of listeners) fn(reason)
}

function query(params) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v)
  }
  const s = q.toString()
  return s ? '?' + s : ''
}

async function toError(res) {
  let body = null
  try {
    body = await res.json()
  } catch {
    /* not JSON: a proxy or a crash */
  }
  const e = body && body.error
  if (e && typeof e.message === 'string' && e.message) {
    return new ApiError(res.status, e.code || '', e.message, e.details)
  }
  return new ApiError(res.status, '', UNEXPECTED_MESSAGE)
}

let refreshing = null

async function refresh() {
  const s = session()
  if (!s?.refresh_token) return false
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const res = await fetchFn(BASE + '/auth/refresh', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ refresh_token: s.refresh_token }),
        })
        if (!res.ok) return false
        const t = await res.json()
        saveSession({ ...s, ...t })
        return true
      } catch {
        return false
      } finally {
        setTimeout(() => (refreshing = null), 0)
      }
    })()
  }
  return refreshing
}

/**
 * call sends one request. opts: json (a body), form (FormData), params
 * (query), blob (answer is a file: {blob, filename}), auth (default true).
 */
async function call(method, path, opts = {}) {
  const send = () => {
    const headers = {}
    let body
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json'
      body = JSON.stringify(opts.json)
    } else if (opts.form) {
      body = opts.form
    }
    const token = session()?.access_token
    if (opts.auth !== false && token) headers.Authorization = 'Bearer ' + token
    return fetchFn(BASE + path + query(opts.params), { method, headers, body })
  }
  let res
  try {
    res = await send()
    if (res.status === 401 && opts.auth !== false && session()) {
      if (await refresh()) {
        res = await send()
      }
      if (res.status === 401) {
        const err = await toError(res)
        endSession(EXPIRED_MESSAGE)
        throw new ApiError(401, err.code, EXPIRED_MESSAGE)
      }
    }
  } catch (e) {
    if (e instanceof ApiError) throw e
    throw new ApiError(0, '', NETWORK_MESSAGE)
  }
  if (!res.ok) throw await toError(res)
  if (opts.blob) {
    return { blob: await res.blob(), filename: filenameOf(res.headers.get('Content-Disposition')) }
  }
  if (res.status === 204) return null
  return res.json()
}

/** filenameOf reads the file name of a Content-Disposition (RFC 5987 first). */
export function filenameOf(cd) {
  if (!cd) return 'download'
  const star = /filename\*=UTF-8''([^;]+)/i.exec(cd)
  if (star) {
    try {
      return decodeURIComponent(star[1])
    } catch {
      /* fall through */
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(cd)
  return plain ? plain[1] : 'download'
}

// ---- sessions ----

export async function login(username, password) {
  const t = await call('POST', '/auth/staff/login', { json: { username, password }, auth: false })
  saveSession(t)
  const me = await call('GET', '/me')
  saveSession({ ...t, me })
  return me
}

export async function logout() {
  try {
    if (loggedIn()) await call('POST', '/auth/logout')
  } finally {
    saveSession(null)
  }
}

export const me = () => call('GET', '/me')

// ---- places and rosters ----

export const myCourtyards = () => call('GET', '/me/courtyards')
export const households = (courtyardId) => call('GET', `/courtyards/${courtyardId}/households`)
export function importRoster(courtyardId, file) {
  const form = new FormData()
  form.append('file', file)
  return call('POST', `/courtyards/${courtyardId}/roster`, { form })
}
export const rosterTemplate = () => call('GET', '/roster-template.xlsx', { blob: true, auth: false })
export const inviteSlips = (courtyardId, householdIds) =>
  call('POST', `/courtyards/${courtyardId}/invites`, { json: householdIds ? { household_ids: householdIds } : {}, blob: true })
/** pendingRequests: one page of a courtyard's open requests; filters {kind}. */
export const pendingRequests = (courtyardId, filters, page, pageSize) =>
  call('GET', `/courtyards/${courtyardId}/requests`, { params: { ...filters, page, page_size: pageSize } })
/** householdPage: one page of a courtyard's households, filtered on the server: {building_id, unit_id, q, bound}. */
export const householdPage = (courtyardId, filters, page, pageSize) =>
  call('GET', `/courtyards/${courtyardId}/households`, { params: { ...filters, page, page_size: pageSize } })
export const householdMembers = (householdId) => call('GET', `/households/${householdId}/members`)
export const unbind = (householdId, userId) => call('DELETE', `/households/${householdId}/members/${userId}`)
/** inviteCodes issues fresh codes (the old unused ones stop working) for {building_id} or {unit_id}, as data to print. */
export const inviteCodes = (courtyardId, which) => call('POST', `/courtyards/${courtyardId}/invites`, { json: which, params: { format: 'json' } })

// ---- the places tree ----

export const myPlaces = () => call('GET', '/me/places')
export const buildings = (courtyardId) => call('GET', `/courtyards/${courtyardId}/buildings`)
const parentPath = { community: 'subdistricts', courtyard: 'communities', building: 'courtyards', unit: 'buildings' }
const ownPath = { community: 'communities', courtyard: 'courtyards', building: 'buildings', unit: 'units' }
/** createPlace makes a community, courtyard, building or unit inside its parent. */
export function createPlace(level, parentId, name, address) {
  if (!parentPath[level]) throw new Error('unknown level ' + level)
  return call('POST', `/${parentPath[level]}/${parentId}/${ownPath[level]}`, { json: address === undefined ? { name } : { name, address } })
}
/** renamePlace renames a place (and a courtyard's address when given). */
export function renamePlace(level, id, name, address) {
  if (!ownPath[level]) throw new Error('unknown level ' + level)
  return call('PUT', `/${ownPath[level]}/${id}`, { json: address === undefined ? { name } : { name, address } })
}
export const decideRequest = (kind, id, approve, reason) =>
  call('POST', `/requests/${kind}/${id}/decision`, { json: { approve, reason } })

// ---- motions ----

export const motions = (courtyardId) => call('GET', `/courtyards/${courtyardId}/motions`)
export const createMotion = (courtyardId, m) => call('POST', `/courtyards/${courtyardId}/motions`, { json: m })
export const motion = (id) => call('GET', `/motions/${id}`)
/** motionStep runs publish, open, close, cancel or finalize. */
export function motionStep(id, step) {
  if (!['publish', 'open', 'close', 'cancel', 'finalize'].includes(step)) throw new Error('unknown step ' + step)
  return call('POST', `/motions/${id}/${step}`)
}
export const extendMotion = (id, closesAt) => call('POST', `/motions/${id}/extend`, { json: { closes_at: closesAt } })
export const turnout = (id) => call('GET', `/motions/${id}/turnout`)
export const reconciliation = (id) => call('GET', `/motions/${id}/reconciliation`)
export const paperBallot = (id, householdId, options, photo) =>
  call('POST', `/motions/${id}/paper-ballots`, { json: { household_id: householdId, options, photo } })
/** exportResults downloads a motion's results; phones 'full' only for those the server allows (see capabilities). */
export const exportResults = (id, format, phones) =>
  call('GET', `/motions/${id}/results.${format}`, { blob: true, params: { phones: phones === 'full' ? 'full' : '' } })

// ---- files ----

/** uploadPhoto uploads one household's signed paper; resolves to the file (its key). */
export function uploadPhoto(courtyardId, file) {
  const form = new FormData()
  form.append('purpose', 'paper_ballot')
  form.append('courtyard_id', String(courtyardId))
  form.append('file', file)
  return call('POST', '/files', { form })
}

// ---- petitions ----

export const petitions = (courtyardId) => call('GET', `/courtyards/${courtyardId}/petitions`)
export const createPetition = (courtyardId, p) => call('POST', `/courtyards/${courtyardId}/petitions`, { json: p })
export const petition = (id) => call('GET', `/petitions/${id}`)
export const publishPetition = (id) => call('POST', `/petitions/${id}/publish`)
export const closePetition = (id) => call('POST', `/petitions/${id}/close`)
export const exportSignatures = (id, format, list, phones) =>
  call('GET', `/petitions/${id}/export.${format}`, {
    blob: true,
    params: { ...(format === 'csv' ? { list } : {}), phones: phones === 'full' ? 'full' : '' },
  })

// ---- notices ----

export const notices = (courtyardId) => call('GET', `/courtyards/${courtyardId}/notices`)
export const noticeReport = (id) => call('GET', `/notices/${id}/report`)

/** save hands a downloaded file to the browser. */
export function save({ blob, filename }) {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}
export const paperSignature = (id, householdId, realName, photo) =>
  call('POST', `/petitions/${id}/paper-signatures`, { json: { household_id: householdId, real_name: realName, photo } })

// ---- audit log ----

/** auditEntries: filters {actor, action, object, from, to} and page, filtered and paged by the server. */
export const auditEntries = (courtyardId, filters, page, pageSize) =>
  call('GET', `/courtyards/${courtyardId}/audit`, { params: { ...filters, page, page_size: pageSize } })
export const verifyAudit = () => call('GET', '/audit/verification')

// ---- staff accounts and roles ----

/** refreshMe reads who is logged in again (grants and capabilities) into the session. */
export async function refreshMe() {
  const me = await call('GET', '/me')
  const s = session()
  if (s) saveSession({ ...s, me })
  return me
}

/** capabilities is what the server says the console may offer this staff member. */
export function capabilities() {
  return session()?.me?.capabilities || { full_phone_communities: [], staff_list: false, manage_staff: false, change_password: false }
}

/**
 * changePassword changes the staff member's own password; every other
 * session of the account ends, and this one continues on the fresh token
 * pair the server answers.
 */
export async function changePassword(oldPassword, newPassword) {
  const t = await call('POST', '/me/password', { json: { old_password: oldPassword, new_password: newPassword } })
  const s = session()
  saveSession({ ...(s || {}), ...t })
}

/** staffList: filters {q} and page, filtered and paged by the server. */
export const staffList = (q, page, pageSize) => call('GET', '/staff', { params: { q, page, page_size: pageSize } })
/** createStaff makes an account with its first role; resolves to it with the initial password (shown once). */
export const createStaff = (username, displayName, grant) =>
  call('POST', '/staff', { json: { username, display_name: displayName, role: grant.role, scope_type: grant.scope_type, scope_id: grant.scope_id } })
export const grantRole = (staffId, grant) =>
  call('POST', '/grants', { json: { principal_type: 'staff', principal_id: staffId, role: grant.role, scope_type: grant.scope_type, scope_id: grant.scope_id } })
export const revokeRole = (staffId, grant) =>
  call('POST', '/grants/revoke', { json: { principal_type: 'staff', principal_id: staffId, role: grant.role, scope_type: grant.scope_type, scope_id: grant.scope_id } })
