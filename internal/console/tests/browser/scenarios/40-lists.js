// The motion, petition and notice lists page and filter on the server
// (issue #12 item 9): with more motions than fit one page, the page shows
// the server's total, the second page holds the rest, and a status filter
// and a title search show what the API answers for the same filter.
import assert from 'node:assert/strict'
import { log, inp, apiCall, plain, shot } from '../lib.js'

async function choose(page, select, option) {
  await page.locator(`[data-test=${select}]`).click()
  await page.locator('.el-select-dropdown__item:visible', { hasText: option }).first().click()
}

/** showsTotal waits until the table shows n entries in all: the pager's total, or, on one page (the pager hides), n rows. */
async function showsTotal(page, table, n) {
  if (n > 10) {
    await page.locator(`[data-test=${table}] .el-pagination__total`).getByText(`共 ${n} 条`).waitFor()
    return
  }
  await page.waitForFunction(
    ([t, n]) => {
      const rows = document.querySelectorAll(`[data-test=${t}] tbody tr`).length
      const pager = document.querySelector(`[data-test=${t}] .el-pagination`)
      return rows === n && (!pager || pager.offsetParent === null)
    },
    [table, n],
  )
}

export async function run({ page, url, srv, base, staff }) {
  log('lists: motions, petitions and notices paged on the server')
  const soon = Date.now() + 40 * 86400 * 1000
  for (let i = 1; i <= 11; i++) {
    await apiCall(base, staff, 'POST', '/courtyards/1/motions', {
      scope_type: 'courtyard', title: `翻页测试第${i}项`, rule: 'ordinary', ballot_mode: 'named', notice_days: 7, objection_days: 7,
      opens_at: new Date(soon).toISOString(), closes_at: new Date(soon + 7 * 86400 * 1000).toISOString(),
    })
  }
  const all = await apiCall(base, staff, 'GET', '/courtyards/1/motions?page=1&page_size=10')
  const drafts = await apiCall(base, staff, 'GET', '/courtyards/1/motions?page=1&page_size=10&status=draft')
  const found = await apiCall(base, staff, 'GET', `/courtyards/1/motions?page=1&page_size=10&q=${encodeURIComponent('第1')}`)
  assert.ok(all.total > 10, `more motions than one page: ${all.total}`)
  assert.equal(found.total, 3, 'the search for 第1 finds 第1, 第10 and 第11 项') // a check of the fixture, then of the page

  await page.goto(url('/login'))
  await page.fill(inp('username'), srv.user)
  await page.fill(inp('password'), srv.password)
  await page.click('[data-test=login-submit]')
  await page.waitForURL(/\/console\/places/)
  // The demo courtyard (other scenarios may have added courtyards that sort first).
  await page.evaluate(() => sessionStorage.setItem('louyuan.console.courtyard', '1'))
  await page.goto(url('/motions'))
  const table = page.locator('[data-test=motions]')
  await table.locator('.el-pagination__total').getByText(`共 ${all.total} 条`).waitFor()
  assert.equal(await table.locator('tbody tr').count(), 10, 'one page of ten')
  await table.locator('.el-pager li', { hasText: '2' }).click()
  await page.waitForFunction((n) => document.querySelectorAll('[data-test=motions] tbody tr').length === n, all.total - 10)
  await shot(page, '44-motions-page2')

  await choose(page, 'motions-status', '草稿')
  assert.ok(drafts.total < all.total, 'the demo motion is not a draft')
  await showsTotal(page, 'motions', drafts.total)
  for (const t of await table.locator('tbody tr').allInnerTexts()) assert.ok(t.includes('草稿'), `a row that is not a draft: ${t}`)
  await page.fill(inp('motions-q'), '第1')
  await showsTotal(page, 'motions', found.total)
  const titles = (await table.locator('tbody tr').allInnerTexts()).map((t) => /翻页测试第\d+项/.exec(t)[0]).sort()
  assert.deepEqual(titles, ['翻页测试第10项', '翻页测试第11项', '翻页测试第1项'])
  await plain(page, 'motions filtered')
  await shot(page, '45-motions-filtered')

  // Notices and petitions: the same filters, the server's totals.
  await page.goto(url('/notices'))
  const sent = await apiCall(base, staff, 'GET', '/courtyards/1/notices?page=1&page_size=10&status=sent')
  await choose(page, 'notices-status', '已发送')
  await showsTotal(page, 'notices', sent.total)
  await page.goto(url('/petitions'))
  const open = await apiCall(base, staff, 'GET', '/courtyards/1/petitions?page=1&page_size=10&status=open')
  await choose(page, 'petitions-status', '征集中')
  await showsTotal(page, 'petitions', open.total)
  await plain(page, 'petitions filtered')
  await shot(page, '46-petitions-filtered')
}
