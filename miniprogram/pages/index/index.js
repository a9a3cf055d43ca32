const api = require('../../utils/api')
const fmt = require('../../utils/format')
const nav = require('../../utils/nav')
const pageBehavior = require('../../utils/page-behavior')

const COUNCIL_ROLES = ['council_chair', 'council_member', 'council_treasurer']

Component({
  behaviors: [pageBehavior],
  data: { households: [], unread: 0, councilCourtyard: 0 },
  methods: {
    onShow() { return this.reload() },
    reload() {
      return this.load(async () => {
        const [hh, unread, me] = await Promise.all([api.myHouseholds(), api.unreadCount(), api.me()])
        const grant = (me.grants || []).find(g => COUNCIL_ROLES.includes(g.role) && g.scope_type === 'courtyard')
        return {
          households: (hh.households || []).map(h => Object.assign({}, h, {
            name: fmt.householdName(h), roleText: h.representative ? '户代表' : ({ owner: '业主', family: '家属', tenant: '租户' }[h.role] || ''),
          })),
          unread: unread.unread || 0,
          councilCourtyard: grant ? grant.scope_id : 0,
        }
      })
    },
    onBind() { nav.go('/pages/bind/bind') },
    onOpen(e) { nav.go(e.currentTarget.dataset.url) },
  },
})
