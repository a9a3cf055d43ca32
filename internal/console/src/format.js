// Words for the server's values. The console computes no rule: it shows
// what the server decided, in plain Chinese.

export const motionStatus = {
  draft: '草稿',
  notice: '公示中',
  voting: '投票中',
  objection: '异议期',
  final: '已公布结果',
  cancelled: '已取消',
}
export const ruleNames = { ordinary: '一般事项', major: '重大事项', custom: '自定义规则', election: '选举' }
export const ballotModes = { named: '记名投票', secret: '不记名投票' }
export const petitionStatus = { draft: '草稿', open: '征集中', closed: '已结束', cancelled: '已取消' }
export const noticeStatus = { draft: '草稿（未发送）', review: '待人工审核', sent: '已发送' }
export const deliveryStates = {
  pending: '等待发送',
  sending: '发送中',
  retried: '稍后重试',
  sent: '已送达',
  skipped: '未发送（未订阅）',
  refused: '用户拒收',
  failed: '发送失败',
}

const dtf = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
})

/** when shows an instant in China time, e.g. 2026/12/07 21:30. */
export function when(t) {
  if (!t) return ''
  const d = new Date(t)
  return isNaN(d) ? '' : dtf.format(d)
}

export function word(table, key) {
  return table[key] || '—'
}

// ---- councils, elections, opinions, surveys ----

export const seatNames = { chair: '主任（理事长）', member: '成员', treasurer: '财务监督' }
export const staffRoles = { leader: '街道班子成员（1）', grid_worker: '网格员（4）', cadre: '社区干部（2）' }
export const electionStatus = { nominating: '提名与资格审查', published: '候选人已公布', ballot: '投票阶段', confirmed: '已确认，新一届已产生' }
export const nominationSources = { community: '街道社区推荐', self: '居民自荐', residents: '居民推选' }
export const eligibilityWords = { pending: '审查未完成', eligible: '符合条件', ineligible: '不符合条件' }
export const criterionKinds = { positive: '应当具备', negative: '不得存在' }
export const scopeWords = { courtyard: '整个楼院', building: '楼栋', unit: '单元' }
export const memberRoles = { owner: '业主', family: '家庭成员', tenant: '租户' }
export const opinionStatus = { received: '已收到', in_progress: '处理中', resolved: '已解决' }
export const opinionCategories = {
  repair: '维修',
  environment: '环境卫生',
  safety: '安全',
  parking: '停车',
  neighbours: '邻里关系',
  property: '物业',
  suggestion: '建议',
  other: '其他',
}
export const surveyStatus = { open: '进行中', closed: '已结束' }

/** daysUntil counts calendar days from today (China) to a YYYY-MM-DD date. */
export function daysUntil(date, now = new Date()) {
  const today = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai' }).format(now)
  return Math.round((Date.parse(date + 'T00:00:00Z') - Date.parse(today + 'T00:00:00Z')) / 86400000)
}
