// The one request module of the mini-program. Every page calls the server
// through the functions exported here; no page builds a URL.
//
// Session: wx.login → POST /api/v1/auth/wechat/login → tokens kept in
// storage → "Authorization: Bearer …". On a 401 one shared refresh
// (POST /api/v1/auth/refresh; when that fails, a new wx.login) and one retry.
// Errors: the server's {"error":{"code","message"}} is thrown as an ApiError
// whose message is the server's Chinese text, shown to the person as is.
// A network failure is retried once, then explained in plain words.
const config = require('../config')
const { wxp } = require('./wxp')

const TOKENS_KEY = 'louyuan_tokens'
const NETWORK_MESSAGE = '网络连接不上，请检查手机网络后点“重试”。'

class ApiError extends Error {
  constructor(code, message, status, requestId) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.status = status || 0
    this.requestId = requestId || ''
  }
}

let loginPromise = null
let refreshPromise = null
const sleep = ms => new Promise(r => setTimeout(r, ms))

function base() { return (module.exports.config || config).apiBase.replace(/\/$/, '') }

function getTokens() {
  try { return wx.getStorageSync(TOKENS_KEY) || null } catch (e) { return null }
}
function setTokens(t) {
  try {
    if (t) wx.setStorageSync(TOKENS_KEY, t)
    else wx.removeStorageSync(TOKENS_KEY)
  } catch (e) { /* storage full: the session lives in memory only */ }
}

// one HTTP exchange with one retry on network failure
async function raw(method, path, data, headers) {
  const opts = {
    url: base() + path, method, header: Object.assign({ 'Content-Type': 'application/json' }, headers || {}),
    timeout: config.requestTimeoutMs,
  }
  if (data !== undefined) opts.data = data
  for (let attempt = 0; ; attempt++) {
    try {
      return await wxp('request', opts)
    } catch (e) {
      if (attempt >= 1) throw new ApiError('network', NETWORK_MESSAGE, 0)
      await sleep(module.exports.retryDelayMs)
    }
  }
}

function toError(res) {
  let body = res.data
  if (typeof body === 'string') { try { body = JSON.parse(body) } catch (e) { body = null } }
  const err = body && body.error
  if (err && err.message) return new ApiError(err.code || 'error', err.message, res.statusCode, err.request_id)
  return new ApiError('http_' + res.statusCode, `服务器暂时出了问题（错误 ${res.statusCode}），请稍后再试。`, res.statusCode)
}

function parse(res) {
  if (res.statusCode === 204) return null
  let body = res.data
  if (typeof body === 'string' && body) { try { body = JSON.parse(body) } catch (e) { /* not JSON */ } }
  return body === '' ? null : body
}

function login() {
  if (!loginPromise) {
    loginPromise = (async () => {
      let code
      try {
        code = (await wxp('login', {})).code
      } catch (e) {
        throw new ApiError('wx_login_failed', '微信登录没有成功，请稍后点“重试”。', 0)
      }
      const res = await raw('POST', '/api/v1/auth/wechat/login', { code })
      if (res.statusCode !== 200) throw toError(res)
      const t = parse(res)
      setTokens({ access: t.access_token, refresh: t.refresh_token, user: t.user || null })
      return t
    })().finally(() => { loginPromise = null })
  }
  return loginPromise
}

function ensureLogin() {
  const t = getTokens()
  return t && t.access ? Promise.resolve(t) : login()
}

// One refresh shared by every request that met a 401 at the same time.
function refresh() {
  if (!refreshPromise) {
    refreshPromise = (async () => {
      const t = getTokens()
      if (t && t.refresh) {
        const res = await raw('POST', '/api/v1/auth/refresh', { refresh_token: t.refresh })
        if (res.statusCode === 200) {
          const n = parse(res)
          setTokens({ access: n.access_token, refresh: n.refresh_token, user: t.user })
          return
        }
      }
      setTokens(null)
      await login()
    })().finally(() => { refreshPromise = null })
  }
  return refreshPromise
}

async function request(method, path, data) {
  await ensureLogin()
  for (let attempt = 0; ; attempt++) {
    const t = getTokens() || {}
    const res = await raw(method, path, data, { Authorization: 'Bearer ' + t.access })
    if (res.statusCode === 401 && attempt === 0) {
      await refresh()
      continue
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return parse(res)
    throw toError(res)
  }
}

// Downloads an authorised file (a notice image) to a temp path for <image>.
async function download(path) {
  await ensureLogin()
  for (let attempt = 0; ; attempt++) {
    const t = getTokens() || {}
    let res
    try {
      res = await wxp('downloadFile', { url: base() + path, header: { Authorization: 'Bearer ' + t.access } })
    } catch (e) {
      if (attempt >= 1) throw new ApiError('network', NETWORK_MESSAGE, 0)
      await sleep(module.exports.retryDelayMs)
      continue
    }
    if (res.statusCode === 401 && attempt === 0) { await refresh(); continue }
    if (res.statusCode >= 200 && res.statusCode < 300) return res.tempFilePath
    throw new ApiError('http_' + res.statusCode, '图片没有加载出来，请稍后再试。', res.statusCode)
  }
}

// Uploads a local file (a temp path from canvasToTempFilePath or chooseMedia).
async function upload(filePath, purpose) {
  await ensureLogin()
  for (let attempt = 0; ; attempt++) {
    const t = getTokens() || {}
    let res
    try {
      res = await wxp('uploadFile', {
        url: base() + '/api/v1/files', filePath, name: 'file',
        formData: { purpose }, header: { Authorization: 'Bearer ' + t.access },
      })
    } catch (e) {
      if (attempt >= 1) throw new ApiError('network', NETWORK_MESSAGE, 0)
      await sleep(module.exports.retryDelayMs)
      continue
    }
    if (res.statusCode === 401 && attempt === 0) { await refresh(); continue }
    if (res.statusCode >= 200 && res.statusCode < 300) return parse(res)
    throw toError(res)
  }
}

const get = p => request('GET', p)
const post = (p, d) => request('POST', p, d === undefined ? {} : d)
const put = (p, d) => request('PUT', p, d)
const del = p => request('DELETE', p)
const id = v => encodeURIComponent(String(v))

module.exports = {
  ApiError, NETWORK_MESSAGE, config, retryDelayMs: 800,
  login, ensureLogin, refresh, request, upload, download, getTokens, setTokens,
  logout: () => post('/api/v1/auth/logout').catch(() => {}).then(() => setTokens(null)),

  // me and households
  me: () => get('/api/v1/me'),
  bindPhone: code => post('/api/v1/me/phone', { code }),
  myHouseholds: () => get('/api/v1/me/households'),
  courtyardHouseholds: courtyardId => get(`/api/v1/courtyards/${id(courtyardId)}/households`),
  bindWithInvite: code => post('/api/v1/me/households', { invite_code: code }),
  requestBinding: (householdId, role, realName, note) =>
    post(`/api/v1/households/${id(householdId)}/bind-requests`, { role, real_name: realName, note: note || '' }),

  // without an invite code: find the household by its address, ask to be bound, follow the request
  findHousehold: q => get('/api/v1/household-lookup?' + ['courtyard', 'building', 'unit', 'room'].map(k => `${k}=${id(q[k] || '')}`).join('&')),
  myBindRequests: () => get('/api/v1/me/bind-requests'),

  // motions and ballots
  myMotions: () => get('/api/v1/me/motions'),
  courtyardMotions: cid => get(`/api/v1/courtyards/${id(cid)}/motions`),
  motion: mid => get(`/api/v1/motions/${id(mid)}`),
  castBallot: (mid, householdId, options) => post(`/api/v1/motions/${id(mid)}/ballots`, { household_id: householdId, options }),
  castProxyBallots: (mid, householdIds, options) => post(`/api/v1/motions/${id(mid)}/proxy-ballots`, { household_ids: householdIds, options }),
  paperBallot: (mid, householdId, options, photo) => post(`/api/v1/motions/${id(mid)}/paper-ballots`, { household_id: householdId, options, photo }),
  turnout: mid => get(`/api/v1/motions/${id(mid)}/turnout`),
  checkReceipt: code => get(`/api/v1/receipts/${id(code)}`),

  // delegations
  myDelegations: () => get('/api/v1/me/delegations'),
  delegate: body => post('/api/v1/delegations', body),
  answerDelegation: (did, accept) => post(`/api/v1/delegations/${id(did)}/accept`, { accept }),
  revokeDelegation: did => post(`/api/v1/delegations/${id(did)}/revoke`),

  // petitions
  myPetitions: () => get('/api/v1/me/petitions'),
  petition: pid => get(`/api/v1/petitions/${id(pid)}`),
  sign: (pid, body) => post(`/api/v1/petitions/${id(pid)}/signatures`, body),
  withdrawSignature: (pid, householdId) => del(`/api/v1/petitions/${id(pid)}/signatures/${id(householdId)}`),
  petitionTotals: pid => get(`/api/v1/petitions/${id(pid)}/totals`),

  // notices
  myNotices: () => get('/api/v1/me/notices'),
  unreadCount: () => get('/api/v1/me/notices/unread'),
  notice: nid => get(`/api/v1/notices/${id(nid)}`),
  markRead: nid => post(`/api/v1/notices/${id(nid)}/read`),
  noticeImage: (nid, key) => download(`/api/v1/notices/${id(nid)}/images/${id(key)}`),
  courtyardNotices: cid => get(`/api/v1/courtyards/${id(cid)}/notices`),
  previewNotice: targets => post('/api/v1/notices/preview', { targets }),
  createNotice: body => post('/api/v1/notices', body),
  sendNotice: nid => post(`/api/v1/notices/${id(nid)}/send`),
  noticeReport: nid => get(`/api/v1/notices/${id(nid)}/report`),

  // the courtyard's WeChat group (see utils/share.js)
  weChatGroup: cid => get(`/api/v1/courtyards/${id(cid)}/wechat-group`),
  linkWeChatGroup: (cid, info) => post(`/api/v1/courtyards/${id(cid)}/wechat-group`, info),
  openedFromGroup: (nid, info) => post(`/api/v1/notices/${id(nid)}/opens`, info),

  // opinions (大家议)
  raiseOpinion: (cid, body) => post(`/api/v1/courtyards/${id(cid)}/opinions`, body),
  courtyardOpinions: (cid, status) => get(`/api/v1/courtyards/${id(cid)}/opinions${status ? '?status=' + id(status) : ''}`),
  myOpinions: () => get('/api/v1/me/opinions'),
  opinion: oid => get(`/api/v1/opinions/${id(oid)}`),
  opinionPhoto: (oid, key) => download(`/api/v1/opinions/${id(oid)}/photos/${id(key)}`),
  assignOpinion: (oid, assigneeId) => post(`/api/v1/opinions/${id(oid)}/assign`, { assignee_id: assigneeId }),
  answerOpinion: (oid, body, status) => post(`/api/v1/opinions/${id(oid)}/replies`, status ? { body, status } : { body }),
  rateOpinion: (oid, rating) => post(`/api/v1/opinions/${id(oid)}/rating`, { rating }),
  reopenOpinion: (oid, reason) => post(`/api/v1/opinions/${id(oid)}/reopen`, { reason }),
  opinionToMotion: (oid, body) => post(`/api/v1/opinions/${id(oid)}/motion-draft`, body),
  opinionToPetition: (oid, body) => post(`/api/v1/opinions/${id(oid)}/petition-draft`, body),

  // councils, satisfaction surveys (大家评) and elections
  courtyardCouncils: cid => get(`/api/v1/courtyards/${id(cid)}/councils`),
  council: cid => get(`/api/v1/councils/${id(cid)}`),
  councilSurveys: cid => get(`/api/v1/councils/${id(cid)}/surveys`),
  survey: sid => get(`/api/v1/surveys/${id(sid)}`),
  respondSurvey: (sid, householdId, answers) => post(`/api/v1/surveys/${id(sid)}/responses`, { household_id: householdId, answers }),
  surveyResults: sid => get(`/api/v1/surveys/${id(sid)}/results`),
  councilElections: cid => get(`/api/v1/councils/${id(cid)}/elections`),
  election: eid => get(`/api/v1/elections/${id(eid)}`),
  nominate: (eid, body) => post(`/api/v1/elections/${id(eid)}/candidates`, body),

  // subscribe messages
  subscriptions: () => get('/api/v1/me/subscriptions'),
  reportSubscriptions: results => post('/api/v1/me/subscriptions', { results }),
}
