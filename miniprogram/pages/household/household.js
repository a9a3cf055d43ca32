const api = require('../../utils/api')
const fmt = require('../../utils/format')
const pageBehavior = require('../../utils/page-behavior')

const ROLE = { owner: '业主', family: '家属', tenant: '租户' }

Component({
  behaviors: [pageBehavior],
  data: { households: [], phone: '' },
  methods: {
    onLoad() { return this.reload() },
    reload() {
      return this.load(async () => {
        const hh = await api.myHouseholds()
        return {
          households: (hh.households || []).map(h => Object.assign({}, h, {
            name: fmt.householdName(h),
            owners: (h.owners || []).join('、'),
            members: (h.members || []).map(m => Object.assign({}, m, {
              roleText: ROLE[m.role] || m.role, who: m.real_name || `住户（编号 ${m.user_id}）`,
            })),
          })),
        }
      })
    },
    // <button open-type="getPhoneNumber">: the code goes to the server, which stores the number encrypted.
    onPhone(e) {
      const code = e.detail && e.detail.code
      if (!code) return undefined
      return this.act(async () => {
        const r = await api.bindPhone(code)
        this.setData({ phone: r.phone_masked })
      })
    },
  },
})
