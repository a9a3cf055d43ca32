const api = require('../../utils/api')
const nav = require('../../utils/nav')
const share = require('../../utils/share')
const pageBehavior = require('../../utils/page-behavior')

// Writing a notice to the whole courtyard, one building or one unit
// (stairwell): the server checks the text with WeChat content security (the
// result is shown), then it is sent.
const CHECK = { pass: '✓ 内容检查通过', review: '内容需要社区人工审核，审核通过后才会发出', risky: '✗ 内容没有通过检查，请修改' }

Component({
  behaviors: [pageBehavior],
  data: { loading: false, courtyard: 0, title: '', body: '', confirm: false, lines: [], result: null, scopes: [], scope: 'courtyard' },
  methods: {
    onLoad(q) {
      const courtyard = Number(q.courtyard)
      this.setData({ courtyard, scopes: [{ key: 'courtyard', type: 'courtyard', id: courtyard, label: '全院住户' }] })
      share.enableTicket()
      return this.loadScopes(courtyard)
    },
    // The buildings and units come from the courtyard's household list;
    // without it the notice still goes to the whole courtyard.
    async loadScopes(courtyard) {
      let hs = []
      try { hs = (await api.courtyardHouseholds(courtyard)).households || [] } catch (e) { return }
      const scopes = [{ key: 'courtyard', type: 'courtyard', id: courtyard, label: '全院住户' }]
      const seen = {}
      hs.forEach(h => {
        if (h.building_id && !seen['b' + h.building_id]) {
          seen['b' + h.building_id] = true
          scopes.push({ key: 'b' + h.building_id, type: 'building', id: h.building_id, label: `${h.building}（整栋）` })
        }
      })
      hs.forEach(h => {
        if (h.unit_id && !seen['u' + h.unit_id]) {
          seen['u' + h.unit_id] = true
          scopes.push({ key: 'u' + h.unit_id, type: 'unit', id: h.unit_id, label: `${h.building}${h.unit}` })
        }
      })
      this.setData({ scopes })
    },
    onScope(e) { this.setData({ scope: e.currentTarget.dataset.key }) },
    chosen() { return this.data.scopes.find(s => s.key === this.data.scope) || this.data.scopes[0] },
    onTitle(e) { this.setData({ title: (e.detail.value || '').trim() }) },
    onBody(e) { this.setData({ body: e.detail.value || '' }) },
    targets() { const s = this.chosen(); return [{ scope_type: s.type, scope_id: s.id }] },
    onNext() {
      if (this.data.title.length < 2 || !this.data.body.trim()) return undefined
      return this.act(async () => {
        const p = await api.previewNotice(this.targets())
        const s = this.chosen()
        const to = s.type === 'courtyard' ? '全院' : s.label.replace('（整栋）', '')
        this.setData({ confirm: true, lines: [`标题：${this.data.title}`, `发给：${to} ${p.recipients} 人`, '发出后不能撤回。'] })
      })
    },
    onCancel() { this.setData({ confirm: false }) },
    onConfirm() {
      return this.act(async () => {
        const n = await api.createNotice({ targets: this.targets(), title: this.data.title, body: this.data.body })
        let sent = null
        if (n.check_result === 'pass' && n.status === 'draft') sent = await api.sendNotice(n.id)
        this.setData({
          confirm: false,
          result: { id: n.id, check: CHECK[n.check_result] || `内容检查：${n.check_result}`, sent: !!sent, recipients: sent ? sent.recipients : 0 },
        })
      })
    },
    onReport() { nav.go(`/pages/council/notice-report?id=${this.data.result.id}`) },
    onShareAppMessage() {
      const r = this.data.result
      return { title: this.data.title || '楼院通知', path: r ? `/pages/notice/detail?id=${r.id}` : '/pages/index/index' }
    },
  },
})
