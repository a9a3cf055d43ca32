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
