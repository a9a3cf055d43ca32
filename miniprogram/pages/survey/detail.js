const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const pageBehavior = require('../../utils/page-behavior')

// One satisfaction survey: each rating question as five big tiles (1 很不满意
// … 5 很满意), free-text questions as a text box; one response per household,
// by its representative. Which of my households may still answer comes from
// the server (households_to_answer); a second response is refused by the
// server and its words are shown.
Component({
  behaviors: [pageBehavior],
  data: { id: 0, survey: null, questions: [], toAnswer: [], answeredNames: '', hIdx: 0, confirm: false, lines: [], done: '' },
  methods: {
    onLoad(q) { this.setData({ id: Number(q.id) }); return this.reload() },
    reload() {
      return this.load(async () => {
        const [v, hh] = await Promise.all([api.survey(this.data.id), api.myHouseholds()])
        const name = hid => { const h = (hh.households || []).find(x => x.id === hid); return h ? fmt.householdName(h) : `户号 ${hid}` }
        const s = v.survey
        return {
          survey: Object.assign({}, s, { open: s.status === 'open', closes: fmt.time(s.closes_at), statusText: fmt.surveyStatus(s.status) }),
          questions: s.questions.map((q, i) => ({ i, text: q.text, rating: q.kind === 'rating', value: 0, answer: '' })),
          toAnswer: (v.households_to_answer || []).map(hid => ({ id: hid, name: name(hid) })),
          answeredNames: (v.answered_households || []).map(name).join('、'),
          hIdx: 0,
        }
      })
    },
    onHousehold(e) { this.setData({ hIdx: Number(e.currentTarget.dataset.i) }) },
    onStar(e) {
      const { q, n } = e.currentTarget.dataset
      this.setData({ [`questions[${q}].value`]: Number(n) })
    },
    onText(e) { this.setData({ [`questions[${e.currentTarget.dataset.q}].answer`]: e.detail.value || '' }) },
    onNext() {
      const missing = this.data.questions.find(q => q.rating && !q.value)
      if (missing) {
        wx.showModal({ title: '还有题没打分', content: `第 ${missing.i + 1} 题还没打分，请先点一个分数。`, showCancel: false, confirmText: '知道了' })
        return
      }
      const h = this.data.toAnswer[this.data.hIdx]
      const lines = [`替本户填写：${h.name}`]
      this.data.questions.forEach(q => lines.push(`${q.i + 1}. ${q.text} ${q.rating ? `${q.value} 分（${fmt.rating(q.value)}）` : (q.answer.trim() || '（没有写）')}`))
      lines.push('每户只能填一次，交了以后不能改。')
      this.setData({ confirm: true, lines })
    },
    onCancel() { this.setData({ confirm: false }) },
    onConfirm() {
      return this.act(async () => {
        const h = this.data.toAnswer[this.data.hIdx]
        const answers = this.data.questions.map(q => (q.rating ? { rating: q.value } : { text: q.answer.trim() }))
        await api.respondSurvey(this.data.id, h.id, answers)
        this.setData({ confirm: false, done: h.name })
        return this.reload()
      })
    },
    onBack() { nav.back() },
  },
})
