const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const share = require('../../utils/share')
const pageBehavior = require('../../utils/page-behavior')

// A petition: its text, live progress against each target (bars and
// words, as the server computed them), my household's signature with
// withdrawal, and for an elevator my share and payments.
Component({
  behaviors: [pageBehavior],
  data: { id: 0, petition: null, progress: null, bars: [], mine: null, confirm: false, lines: [] },
  methods: {
    onLoad(q) {
      this.setData({ id: Number(q.id) })
      share.enableTicket()
      return this.reload()
    },
    onShow() { if (this.data.petition) this.reload() },
    reload() {
      return this.load(async () => {
        const [d, mine] = await Promise.all([api.petition(this.data.id), api.myPetitions()])
        const p = d.petition, g = d.progress
        const my = (mine.petitions || []).find(x => x.petition.id === this.data.id)
        const bars = []
        if (g.target_households) bars.push({ key: 'h', title: '已签字的户数', p: g.target_households, value: String(g.signed_households), total: String(g.households), unit: '户' })
        if (g.target_area) bars.push({ key: 'a', title: '已签字的面积', p: g.target_area, value: g.signed_area, total: g.area, unit: '平方米' })
        return {
          petition: Object.assign({}, p, { statusText: fmt.petitionStatus(p.status), deadlineText: fmt.time(p.deadline), open: p.status === 'open' }),
          progress: g, bars,
          headline: g.reached ? '✓ 签字已经够了' : headlineOf(g),
          mine: my ? {
            householdId: my.household_id, signed: !!my.signature,
            signedAt: my.signature ? fmt.time(my.signature.signed_at) : '',
            signer: my.signature ? my.signature.real_name : '',
            pledge: my.signature && my.signature.pledge_fen ? fmt.yuan(my.signature.pledge_fen) : '',
            share: my.share_fen !== undefined && my.share_fen !== null ? fmt.yuan(my.share_fen) : '',
            paid: fmt.yuan(my.paid_fen || 0),
          } : null,
        }
      })
    },
    onSign() { nav.go(`/pages/petition/sign?id=${this.data.id}`) },
    onWithdraw() {
      this.setData({ confirm: true, lines: [`撤回本户对“${this.data.petition.title}”的签字`, '撤回后这户不再计入签字人数；截止前还可以重新签。'] })
    },
    onCancel() { this.setData({ confirm: false }) },
    onConfirm() {
      return this.act(async () => {
        await api.withdrawSignature(this.data.id, this.data.mine.householdId)
        this.setData({ confirm: false })
        return this.reload()
      })
    },
    onShareAppMessage() {
      return { title: `请签字：${this.data.petition ? this.data.petition.title : '联名征求意见'}`, path: `/pages/petition/detail?id=${this.data.id}` }
    },
  },
})

function headlineOf(g) {
  const parts = []
  if (g.target_households && !g.target_households.met && g.target_households.needed_households > 0) parts.push(`${g.target_households.needed_households} 户`)
  if (g.target_area && !g.target_area.met && Number(g.target_area.needed_area) > 0) parts.push(`${fmt.area(g.target_area.needed_area)} 平方米`)
  return parts.length ? `还差 ${parts.join(' / ')} 签字才够` : '签字还不够'
}
