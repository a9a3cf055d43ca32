// Plain words for the audit log's actions, principals and objects. The log
// keeps stable identifiers; a clerk reads these.

export const actionGroups = [
  ['motion.', '表决事项'],
  ['ballot.', '投票'],
  ['delegation.', '委托投票'],
  ['petition.', '征求意见'],
  ['signature.', '签名'],
  ['payment.', '缴费'],
  ['notice.', '通知'],
  ['delivery.', '微信消息送达'],
  ['household.', '房屋绑定'],
  ['representative.', '户代表变更'],
  ['roster.', '名册导入'],
  ['invite.', '邀请码'],
  ['export.', '导出'],
  ['file.', '文件上传'],
  ['courtyard.', '楼院设置'],
  ['place.', '楼院与楼栋'],
]

const actions = {
  'motion.create': '新建表决', 'motion.publish': '发布公示', 'motion.open': '开始投票', 'motion.close': '结束投票',
  'motion.extend': '延长投票', 'motion.cancel': '取消表决', 'motion.finalize': '公布结果',
  'ballot.cast': '投票', 'ballot.replace': '改票', 'ballot.paper': '录入纸质票',
  'delegation.create': '发起委托', 'delegation.accept': '接受委托', 'delegation.decline': '拒绝委托',
  'delegation.confirm': '确认委托', 'delegation.revoke': '撤销委托',
  'petition.create': '新建征求意见', 'petition.publish': '发布征求意见', 'petition.close': '结束征求意见', 'petition.cost_plan': '设置费用分摊',
  'signature.sign': '签名', 'signature.paper': '录入纸质签名', 'signature.withdraw': '撤回签名',
  'payment.record': '登记缴费',
  'notice.create': '新建通知', 'notice.approve': '审核通过通知', 'notice.send': '发送通知',
  'household.bind': '绑定房屋', 'household.unbind': '解除绑定', 'household.bind_requested': '申请绑定房屋',
  'representative.requested': '申请变更户代表',
  'roster.import': '导入名册', 'invite.issue': '生成邀请码', 'export.results': '导出表决结果', 'export.signatures': '导出签名名单',
  'file.upload': '上传文件', 'courtyard.settings': '修改楼院设置', 'role.grant': '授权', 'staff.create': '新建工作人员账号',
  'staff.locked': '账号因密码错误被锁定',
  'role.revoke': '撤销授权', 'staff.password_changed': '修改密码', 'staff.login_failed': '登录密码错误',
  'place.created': '新建社区、楼院、楼栋或单元', 'place.renamed': '修改名称',
}

export function actionWord(a) {
  if (actions[a]) return actions[a]
  if (a.startsWith('delivery.')) return '微信消息' + ({ sent: '已送达', failed: '发送失败', refused: '被拒收', skipped: '未发送', retried: '稍后重试' }[a.slice(9)] || '状态变化')
  const g = actionGroups.find(([p]) => a.startsWith(p))
  return g ? g[1] + '（其他操作）' : '其他操作'
}

const kinds = {
  staff: '工作人员', user: '居民', motion: '表决', household: '房屋', petition: '征求意见', notice: '通知',
  delivery: '微信消息', file: '文件', request: '申请', courtyard: '楼院', delegation: '委托', invite: '邀请码',
  subdistrict: '街道', community: '社区', building: '楼栋', unit: '单元',
}

/** refWord: "staff:1" → "工作人员 1 号"; "system" → "系统". */
export function refWord(r) {
  if (!r) return '—'
  if (r === 'system') return '系统'
  if (r === 'cli') return '服务器命令行'
  const i = r.indexOf(':')
  if (i < 0) return '—'
  const kind = kinds[r.slice(0, i)]
  const id = r.slice(i + 1)
  if (!kind) return '—'
  return /^\d+$/.test(id) ? `${kind} ${id} 号` : kind
}

const detailKeys = {
  household: '房屋编号', households: '房屋', user: '居民编号', role: '身份', options: '选项', photo: '照片', motion: '表决编号',
  notice: '通知编号', reason: '原因', state: '状态', attempt: '第几次发送', rows: '行数', created: '新增', updated: '更新',
  unchanged: '未变', not_in_file: '文件中没有的房屋', channel: '方式', receipt: '回执码', real_name: '姓名', title: '标题',
  closes_at: '截止时间', opens_at: '开始时间', until: '锁定到', username: '用户名', phone: '手机号', approve: '是否同意',
  ballot: '选票编号', version: '第几次投票', choice: '选择', delegation: '委托编号',
  level: '类别', name: '名称', old_name: '原名称', parent: '所属', parent_name: '所属名称', address: '地址', old_address: '原地址',
  count: '数量', signed: '已签名', not_signed: '未签名', phones: '手机号显示', format: '格式', scope_type: '范围', scope_id: '范围编号',
  other_sessions_ended: '其他登录已退出',
}

const valueWords = {
  agree: '同意', oppose: '反对', abstain: '弃权', owner: '业主', family: '家庭成员', tenant: '租户',
  self: '户代表本人', proxy: '受托人', paper: '纸质', named: '记名', secret: '不记名', courtyard: '整个楼院', building: '楼栋', unit: '单元', community: '社区',
  sent: '已送达', failed: '发送失败', refused: '被拒收', skipped: '未发送', retried: '稍后重试', pending: '等待发送',
  xlsx: 'Excel', csv: 'CSV', masked: '隐去中间位', full: '完整',
  subdistrict_admin: '街道管理员', community_staff: '社区工作人员', phone_viewer: '导出完整手机号', subdistrict: '街道', community: '社区',
}

function valueWord(k, v) {
  if (v === null || v === undefined || v === '') return '—'
  if (k === 'photo' || k === 'file' || k === 'signature_file') return '已附文件'
  if (k === 'parent') return refWord(String(v))
  if (Array.isArray(v)) return v.map((x) => valueWord(k, x)).join('、')
  if (typeof v === 'object') return Object.values(v).map((x) => valueWord(k, x)).join('、')
  if (v === true) return '是'
  if (v === false) return '否'
  const s = String(v)
  if (valueWords[s]) return valueWords[s]
  // Identifiers a clerk cannot use are left out rather than shown as codes.
  return /^[a-z]+[_.][a-z_.]+$/.test(s) ? '（内部标识）' : s
}

/** detailRows turns an entry's detail into label/value rows a clerk can read. */
export function detailRows(d) {
  return Object.entries(d || {}).map(([k, v]) => ({ label: detailKeys[k] || '其他信息', value: valueWord(k, v) }))
}
