const { mount, useWx, flush, text, tap, isDisabled } = require('./helpers')

describe('threshold-bar', () => {
  beforeEach(() => useWx({}))
  test('says how much is still needed in words and draws the bar', async () => {
    const c = mount('components/threshold-bar/threshold-bar', {
      title: '参与投票的面积', unit: '平方米', value: '62.35', total: '3821.44', goal: '达到',
      progress: { rule: '≥ 2/3', met: false, reachable: true, needed_households: 0, needed_area: '2485.28' },
    })
    await flush()
    expect(text(c)).toContain('要求三分之二以上')
    expect(text(c)).toContain('62.35 / 3821.44 平方米')
    expect(text(c)).toContain('还差 2485.28 平方米 才能达到')
    expect(c.querySelector('.fill').dom.getAttribute('style')).toMatch(/width: ?1\.6%/)
  })
  test('met and unreachable are words, not only colour', async () => {
    const c = mount('components/threshold-bar/threshold-bar', {
      title: '同意的户数', unit: '户', value: '40', total: '50',
      progress: { rule: '≥ 3/4', met: true, reachable: true, needed_households: 0, needed_area: '0.00' },
    })
    await flush()
    expect(text(c)).toContain('✓ 已达到')
    c.setData({ progress: { rule: '> 1/2', met: false, reachable: false, needed_households: 3, needed_area: '0.00' } })
    await flush()
    expect(text(c)).toContain('✗ 已无法达到')
    expect(text(c)).toContain('要求过半数')
  })
})

describe('threshold-bar, secret ballot', () => {
  beforeEach(() => useWx({}))
  test('a withheld threshold says when it will be told, and draws nothing', async () => {
    const c = mount('components/threshold-bar/threshold-bar', {
      title: '同意的面积', unit: '平方米', value: '', total: '',
      progress: { rule: '≥ 3/4', withheld: true, summary: '不记名投票，投票结束后公布（同意的专有面积须不少于参与表决的 3/4）' },
    })
    await flush()
    expect(text(c)).toContain('不记名投票，投票结束后公布')
    expect(text(c)).not.toContain('还差')
    expect(c.querySelector('.fill').dom.getAttribute('style')).toMatch(/width: ?0%/)
  })
})

describe('confirm-sheet', () => {
  beforeEach(() => useWx({}))
  test('restates the choice and confirms or goes back', async () => {
    const c = mount('components/confirm-sheet/confirm-sheet', {
      show: true, title: '请确认您的投票', lines: ['表决：1号楼加装电梯', '您选择：同意'], confirmText: '确认投票',
    })
    await flush()
    expect(text(c)).toContain('您选择：同意')
    const events = []
    c.addEventListener('confirm', () => events.push('confirm'))
    c.addEventListener('cancel', () => events.push('cancel'))
    expect(isDisabled(c, '确认投票')).toBe(false)
    await tap(c, '确认投票')
    await tap(c, '返回修改')
    expect(events).toEqual(['confirm', 'cancel'])
  })
  test('hidden when not shown', async () => {
    const c = mount('components/confirm-sheet/confirm-sheet', { show: false, lines: ['x'] })
    await flush()
    expect(text(c)).toBe('')
  })
})

describe('status-view', () => {
  beforeEach(() => useWx({}))
  test('loading, then the server message with a retry button', async () => {
    const c = mount('components/status-view/status-view', { loading: true })
    await flush()
    expect(text(c)).toContain('正在加载')
    c.setData({ loading: false, error: '没有这项征求' })
    await flush()
    expect(text(c)).toContain('没有这项征求')
    let retried = 0
    c.addEventListener('retry', () => { retried++ })
    await tap(c, '重试')
    expect(retried).toBe(1)
  })
})

describe('back-bar', () => {
  test('goes back, or home', async () => {
    const wx = useWx({})
    const c = mount('components/back-bar/back-bar')
    await flush()
    await tap(c, '返回上一页')
    await tap(c, '回到首页')
    expect(wx.__navigations).toEqual(['back', '/pages/index/index'])
  })
})

describe('signature-pad', () => {
  test('drawing marks it signed; erase clears; export gives a PNG path', async () => {
    const wx = useWx({})
    const c = mount('components/signature-pad/signature-pad')
    await flush()
    expect(text(c)).toContain('请用手指在上面的白框里写下您的名字')
    const changes = []
    c.addEventListener('change', e => changes.push(e.detail.signed))
    const pad = c.querySelector('#pad')
    pad.dispatchEvent('touchstart', { touches: [{ x: 10, y: 10 }] })
    pad.dispatchEvent('touchmove', { touches: [{ x: 40, y: 30 }] })
    await flush()
    expect(text(c)).toContain('✓ 已写好')
    await tap(c, '擦掉重写')
    expect(text(c)).toContain('请用手指')
    expect(changes).toEqual([true, false])
    await expect(c.instance.toFile()).resolves.toBe('http://tmp/signature.png')
    expect(wx.__calls.find(x => x.name === 'canvasToTempFilePath').opts.fileType).toBe('png')
  })
})
