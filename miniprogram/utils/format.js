// Words for what the server sends. Nothing here decides a rule: thresholds,
// "still needed" and rights all come from the API; this file only says them
// in plain Chinese.

const MOTION_STATUS = {
  draft: '草稿', notice: '公示中', voting: '投票中', objection: '异议期',
  final: '已有结果', cancelled: '已取消', closed: '已截止',
}
const HOUSEHOLD_STATUS = {
  voted: '本户已投票', not_voted: '本户还没投票', voted_by_proxy: '受托人已代投',
  voted_on_paper: '已交纸质票', delegated: '已委托他人投票',
}
const PETITION_STATUS = { draft: '草稿', open: '征集中', closed: '已截止' }
const DELEGATION_STATUS = {
  pending: '等待受托人接受', accepted: '等待理事会确认委托书', active: '委托生效中',
  declined: '受托人已拒绝', revoked: '已撤销', expired: '已过期',
}
const CHANNEL = { self: '本人投票', proxy: '受托人代投', paper: '纸质票' }
const RULE = { ordinary: '一般事项', major: '重大事项', custom: '自定规则', election: '选举' }

const OPINION_STATUS = { received: '已收到', in_progress: '处理中', resolved: '已解决' }
const CATEGORY = {
  repair: '维修', environment: '环境卫生', safety: '安全隐患', parking: '停车',
  neighbours: '邻里关系', property: '物业服务', suggestion: '建议', other: '其他',
}
const SURVEY_STATUS = { open: '正在填写', closed: '已结束' }
const ELECTION_STATUS = { nominating: '正在提名候选人', published: '候选人已公布', ballot: '投票选举', confirmed: '选举结果已确认' }
const SOURCE = { community: '社区推荐', self: '本人自荐', residents: '居民推选' }
const ELIGIBILITY = { pending: '资格审查中', eligible: '符合候选人条件', ineligible: '不符合候选人条件' }
const SEAT = { chair: '主任', member: '理事', treasurer: '财务理事' }
const MEMBER_ROLE = { owner: '业主', family: '家庭成员', tenant: '租户' }
const REQUEST_STATUS = { pending: '等待社区审核', approved: '✓ 已通过', rejected: '✗ 没有通过' }
const RATING = ['', '很不满意', '不满意', '一般', '满意', '很满意']

function words(table) { return s => table[s] || s || '' }

function motionStatus(s) { return MOTION_STATUS[s] || s }
function householdStatus(s) { return HOUSEHOLD_STATUS[s] || s }
function petitionStatus(s) { return PETITION_STATUS[s] || s }
function delegationStatus(s) { return DELEGATION_STATUS[s] || s }
function channel(s) { return CHANNEL[s] || s }
function rule(s) { return RULE[s] || s }

// "2026-12-07T13:05:01Z" → "12月7日 21:05" in Beijing time (UTC+8)
function time(iso) {
  if (!iso) return ''
  const d = new Date(iso)
  if (isNaN(d.getTime())) return ''
  const b = new Date(d.getTime() + 8 * 3600 * 1000)
  const pad = n => (n < 10 ? '0' + n : '' + n)
  return `${b.getUTCFullYear()}年${b.getUTCMonth() + 1}月${b.getUTCDate()}日 ${pad(b.getUTCHours())}:${pad(b.getUTCMinutes())}`
}

// "62.35" → "62.35"; "120.50" → "120.5"; "3.00" → "3"
function area(a) {
  if (a === undefined || a === null || a === '') return '0'
  return String(a).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '')
}

function yuan(fen) {
  if (fen === undefined || fen === null) return '0'
  const n = Number(fen)
  return (n / 100).toFixed(2).replace(/\.00$/, '')
}

// percentage for a bar width, from two numbers/strings the server sent
function pct(part, whole) {
  const p = Number(part), w = Number(whole)
  if (!w || !isFinite(p) || !isFinite(w)) return 0
  return Math.max(0, Math.min(100, Math.round((p / w) * 1000) / 10))
}

// "≥ 2/3" → "三分之二以上"; "> 1/2" → "过半数"; "≥ 3/4" → "四分之三以上"
const CN = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九', '十']
function ruleWords(r) {
  const m = /^\s*([≥>])\s*(\d+)\/(\d+)\s*$/.exec(r || '')
  if (!m) return r || ''
  const [, op, num, den] = m
  if (op === '>' && num === '1' && den === '2') return '过半数'
  const frac = (+den <= 10 && +num <= 10) ? `${CN[+den]}分之${CN[+num]}` : `${num}/${den}`
  return op === '≥' ? `${frac}以上` : `超过${frac}`
}

// heads turns the server's exact head count ("79/2") into words a person
// reads (39.5); whole numbers stay whole.
function heads(h) {
  const s = String(h === undefined || h === null ? '0' : h)
  const i = s.indexOf('/')
  if (i < 0) return s
  const v = Number(s.slice(0, i)) / Number(s.slice(i + 1))
  return String(Math.round(v * 100) / 100)
}

// the first line of a text, cut to n characters for a list
function clip(t, n) {
  const s = String(t || '').split('\n')[0]
  return s.length > n ? s.slice(0, n) + '…' : s
}

function householdName(h) {
  if (!h) return ''
  return `${h.building || ''}${h.unit || ''}${h.room || ''}`
}

module.exports = {
  opinionStatus: words(OPINION_STATUS), category: words(CATEGORY), surveyStatus: words(SURVEY_STATUS),
  electionStatus: words(ELECTION_STATUS), source: words(SOURCE), eligibility: words(ELIGIBILITY), seat: words(SEAT),
  memberRole: words(MEMBER_ROLE), requestStatus: words(REQUEST_STATUS), rating: n => RATING[n] || '',
  CATEGORIES: Object.keys(CATEGORY).map(key => ({ key, label: CATEGORY[key] })),
  motionStatus, householdStatus, petitionStatus, delegationStatus, channel, rule,
  time, area, yuan, pct, ruleWords, householdName, heads, clip,
}
