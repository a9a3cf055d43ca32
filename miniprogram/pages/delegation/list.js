const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const subscribe = require('../../utils/subscribe')
const pageBehavior = require('../../utils/page-behavior')

// Delegations I gave (revoke) and I hold (accept or decline, then vote for
// them on the motion's page). My proxy code is my user id: I show it to the
// neighbour who wants me to vote for them.
Component({
  behaviors: [pageBehavior],
  data: { given: [], held: [], myCode: '', confirm: false, lines: [], pending: null },
  methods: {
    onLoad() {},
    onShow() { return this.reload() },
    reload() {
      return this.load(async () => {
        const [d, me] = await Promise.all([api.myDelegations(), api.me()])
        const view = x => Object.assign({}, x, {
          statusText: fmt.delegationStatus(x.status),
          scope: x.motion_id ? `只限第 ${x.motion_id} 号表决` : `${fmt.time(x.until)} 之前的所有表决`,
          canRevoke: ['pending', 'accepted', 'active'].includes(x.status),
        })
        return { given: (d.given || []).map(view), held: (d.held || []).map(view), myCode: String(me.id) }
      })
    },
    onCreate() { nav.go('/pages/delegation/create') },
    onOpenMotion(e) { nav.go(`/pages/motion/detail?id=${e.currentTarget.dataset.id}`) },
    onAccept(e) {
      const d = this.data.held.find(x => x.id === e.currentTarget.dataset.id)
      this.setData({
        confirm: true, pending: { kind: 'accept', id: d.id },
        lines: [`接受户号 ${d.household_id} 的委托`, `范围：${d.scope}`, '接受后，您可以替这户投票；这户自己投票时以这户的票为准。'],
        confirmText: '确认接受',
      })
    },
    onDecline(e) {
      const id = e.currentTarget.dataset.id
      this.setData({ confirm: true, pending: { kind: 'decline', id }, lines: ['拒绝这项委托？对方会收到通知。'], confirmText: '确认拒绝' })
    },
    onRevoke(e) {
      const d = this.data.given.find(x => x.id === e.currentTarget.dataset.id)
      this.setData({
        confirm: true, pending: { kind: 'revoke', id: d.id },
        lines: [`撤销对受托码 ${d.proxy_user_id} 的委托`, `范围：${d.scope}`, '撤销后，受托人替您投的票作废，请您自己投票。'],
        confirmText: '确认撤销',
      })
    },
    onCancel() { this.setData({ confirm: false, pending: null }) },
    onConfirm() {
      const p = this.data.pending
      if (p.kind === 'accept') subscribe.ask(['delegation_revoked'])
      return this.act(async () => {
        if (p.kind === 'accept') await api.answerDelegation(p.id, true)
        else if (p.kind === 'decline') await api.answerDelegation(p.id, false)
        else await api.revokeDelegation(p.id)
        this.setData({ confirm: false, pending: null })
        wx.showToast({ title: '已办好', icon: 'success' })
        return this.reload()
      })
    },
  },
})
