import { createRouter, createWebHistory } from 'vue-router'
import * as api from './api.js'
import Login from './views/Login.vue'
import Places from './views/Places.vue'
import Roster from './views/Roster.vue'
import Motions from './views/Motions.vue'
import MotionDetail from './views/MotionDetail.vue'
import Dashboard from './views/Dashboard.vue'
import Petitions from './views/Petitions.vue'
import Notices from './views/Notices.vue'
import Requests from './views/Requests.vue'
import Audit from './views/Audit.vue'
import Staff from './views/Staff.vue'
import InviteSlips from './views/InviteSlips.vue'

// One route = one view. Every view but the login needs a session; what a
// staff member may see inside a view is decided by the server.
export const routes = [
  { path: '/login', component: Login, meta: { title: '登录', public: true } },
  { path: '/', redirect: '/places' },
  { path: '/places', component: Places, meta: { title: '楼院与房屋', menu: true } },
  { path: '/roster', component: Roster, meta: { title: '名册导入', menu: true } },
  { path: '/requests', component: Requests, meta: { title: '住户申请审核', menu: true } },
  { path: '/motions', component: Motions, meta: { title: '表决事项', menu: true } },
  { path: '/motions/:id', component: MotionDetail, meta: { title: '表决详情' } },
  { path: '/dashboard', component: Dashboard, meta: { title: '参与情况', menu: true } },
  { path: '/petitions', component: Petitions, meta: { title: '征求意见与导出', menu: true } },
  { path: '/notices', component: Notices, meta: { title: '通知与送达', menu: true } },
  { path: '/audit', component: Audit, meta: { title: '审计日志', menu: true } },
  // In the menu for those the server says may see staff (capabilities.staff_list); the page shows the server's refusal to others.
  { path: '/staff', component: Staff, meta: { title: '员工与权限', menu: true, needs: 'staff_list' } },
  { path: '/invite-slips', component: InviteSlips, meta: { title: '打印邀请码' } },
  { path: '/:rest(.*)*', redirect: '/places' },
]

export const router = createRouter({ history: createWebHistory('/console/'), routes })

router.beforeEach((to) => {
  if (!to.meta.public && !api.loggedIn()) {
    return { path: '/login', query: to.fullPath !== '/places' ? { next: to.fullPath } : {} }
  }
  document.title = (to.meta.title ? to.meta.title + ' · ' : '') + '楼院工作人员后台'
})

api.onSessionEnd((reason) => {
  const here = router.currentRoute.value
  if (!here.meta.public) router.replace({ path: '/login', query: { next: here.fullPath, reason: 'expired' } })
  void reason
})
