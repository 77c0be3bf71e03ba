// Open every slideshow that `make slides` built in headless Chromium and
// check what an audience would see:
//
//   - no slide's content overflows its frame (the section's scrollHeight or
//     scrollWidth past its client size, 1 px of tolerance);
//   - every code block and diagram lies inside its slide, is visible, and is
//     not shrunk below MIN_SCALE by Marp's auto-scaling to fit the width;
//   - the page logs no console error, throws nothing, and loads nothing but
//     its own file (requests to anywhere else are refused and reported).
//
// It also saves screenshots of some slides of every deck (--shots, the first
// two unless told) as NN-name.slide-N.png, 1280x720, beside the slideshows
// or in --shot-dir; --shot-scale 0.5 makes them 640x360.
//
// --self-test first builds a deck made to fail (with Marp, as build.py does)
// and requires the check to find each of its faults, and nothing on the one
// slide that is fine.
//
// Usage: node slides/check_slides.mjs [--self-test] [--shots N,M...]
//            [--shot-dir DIR] [--shot-scale F] [--browser PATH] DECK.slides.html...
// Exit status: 0 all clean, 1 a problem was found, 2 the check could not run.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import puppeteer from 'puppeteer-core'

const WIDTH = 1280
const HEIGHT = 720
const TOLERANCE = 1 // px: rounding in layout
const MIN_SCALE = 0.8 // a code block drawn smaller than this is hard to read
const DEADLINE_MS = 30000 // for any one step: launching, loading, a screenshot
const SETTLE_MS = 10000 // for Marp's scaling of code blocks to come to rest

// As root in a container with no network: no sandbox, no GPU, nothing that
// phones home.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage', `--window-size=${WIDTH},${HEIGHT}`]

function usage (message) {
  console.error(`check_slides.mjs: ${message}`)
  console.error('usage: node slides/check_slides.mjs [--self-test] [--shots N,M...] [--shot-dir DIR] ' +
    '[--shot-scale F] [--browser PATH] DECK.slides.html...')
  process.exit(2)
}

function parseArgs (argv) {
  const opts = {
    shots: [1, 2], shotDir: null, shotScale: 1, selfTest: false,
    browser: process.env.CHROMIUM || '/usr/bin/chromium', files: []
  }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--shots') {
      opts.shots = (argv[++i] || '').split(',').filter((n) => n !== '').map(Number)
    } else if (argv[i] === '--self-test') opts.selfTest = true
    else if (argv[i] === '--shot-dir') opts.shotDir = argv[++i]
    else if (argv[i] === '--shot-scale') opts.shotScale = Number(argv[++i])
    else if (argv[i] === '--browser') opts.browser = argv[++i]
    else if (argv[i].startsWith('-')) usage(`unknown option ${argv[i]}`)
    else opts.files.push(argv[i])
  }
  if (!opts.shots.every((n) => Number.isInteger(n) && n > 0)) usage('--shots wants slide numbers: 1,2')
  if (!(opts.shotScale > 0 && opts.shotScale <= 2)) usage('--shot-scale wants a factor in (0, 2]')
  if (!opts.browser) usage('--browser wants a path')
  if (opts.files.length === 0 && !opts.selfTest) usage('no slideshow given')
  return opts
}

// Runs in the page: one entry per slide that has a problem.
function measureSlides (tolerance, minScale) {
  const inside = (r, frame) => r.left >= frame.left - tolerance && r.right <= frame.right + tolerance &&
    r.top >= frame.top - tolerance && r.bottom <= frame.bottom + tolerance
  const slides = [...document.querySelectorAll('svg[data-marpit-svg] > foreignObject > section')]
  const report = []
  slides.forEach((section, index) => {
    const problems = []
    const title = (section.querySelector('h1, h2, h3')?.textContent || '').trim()
    const tall = section.scrollHeight - section.clientHeight
    const wide = section.scrollWidth - section.clientWidth
    if (tall > tolerance) problems.push(`content is ${tall}px taller than the slide`)
    if (wide > tolerance) problems.push(`content is ${wide}px wider than the slide`)
    const frame = section.getBoundingClientRect()
    // Marp replaces <pre> with its auto-scaling <marp-pre> in the browser.
    section.querySelectorAll('marp-pre, pre, table').forEach((block, k) => {
      const what = block.tagName === 'TABLE' ? 'table'
        : (block.querySelector('code.language-text') ? 'diagram' : 'code block')
      const first = (block.textContent.trim().split('\n')[0] || '').slice(0, 40)
      const name = `${what} ${k + 1} ("${first}")`
      const rect = block.getBoundingClientRect()
      const style = getComputedStyle(block)
      if (rect.width < 1 || rect.height < 1 || style.display === 'none' ||
          style.visibility !== 'visible' || Number(style.opacity) === 0) {
        problems.push(`${name} is not shown`)
        return
      }
      if (!inside(rect, frame)) {
        problems.push(`${name} is cut off by the slide's edge ` +
          `(${Math.round(rect.left)},${Math.round(rect.top)} to ` +
          `${Math.round(rect.right)},${Math.round(rect.bottom)})`)
      }
      const code = block.querySelector('code')
      if (code && code.offsetWidth > 0) {
        const scale = code.getBoundingClientRect().width / code.offsetWidth
        if (scale < minScale) {
          problems.push(`${name} is shrunk to ${Math.round(scale * 100)} % to fit the width`)
        }
      }
      if (block.scrollHeight > block.clientHeight + tolerance && style.overflowY !== 'visible') {
        problems.push(`${name} hides ${block.scrollHeight - block.clientHeight}px behind a scroll bar`)
      }
    })
    if (problems.length) report.push({ slide: index + 1, title, problems })
  })
  return { count: slides.length, report }
}

// Runs in the page: resolves once the drawn size of every code block is the
// same in three frames in a row (or after ms milliseconds).
function settle (ms) {
  const size = () => [...document.querySelectorAll('marp-pre code, pre code')]
    .map((code) => code.getBoundingClientRect().width.toFixed(1)).join(' ')
  return new Promise((resolve) => {
    const deadline = performance.now() + ms
    let last = null
    let same = 0
    const frame = () => {
      const now = size()
      same = now === last ? same + 1 : 0
      last = now
      if (same >= 2 || performance.now() > deadline) resolve(same >= 2)
      else requestAnimationFrame(frame)
    }
    requestAnimationFrame(frame)
  })
}

async function checkDeck (browser, file, opts) {
  const errors = []
  const page = await browser.newPage()
  page.setDefaultTimeout(DEADLINE_MS)
  await page.setViewport({ width: WIDTH, height: HEIGHT, deviceScaleFactor: opts.shotScale })
  await page.setRequestInterception(true)
  page.on('request', (request) => {
    const url = request.url()
    if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('about:')) {
      request.continue()
    } else {
      errors.push(`tried to load ${url} from the network`)
      request.abort()
    }
  })
  page.on('requestfailed', (request) => {
    if (request.url().startsWith('file:')) {
      errors.push(`could not load ${request.url()}: ${request.failure()?.errorText}`)
    }
  })
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'assert') {
      errors.push(`console ${message.type()}: ${message.text()}`)
    }
  })
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`))

  const url = pathToFileURL(resolve(file)).href
  await page.goto(url, { waitUntil: 'load', timeout: DEADLINE_MS })
  await page.evaluate(() => document.fonts.ready)
  // The slideshow leaves the slides not on screen unrendered (CSS
  // content-visibility), and Marp scales a wide code block down only once it
  // is rendered: render them all, as each would be when shown, and measure
  // once every block's drawn size stays put from frame to frame.
  await page.addStyleTag({ content: 'svg[data-marpit-svg] { content-visibility: visible !important; }' })
  await page.evaluate(settle, SETTLE_MS)
  const { count, report } = await page.evaluate(measureSlides, TOLERANCE, MIN_SCALE)

  const pictures = []
  const shots = opts.shots.filter((n) => n <= count)
  if (shots.length > 0) {
    // The on-screen controller shows until the mouse rests: not in a picture.
    await page.addStyleTag({ content: '.bespoke-marp-osc { display: none !important; }' })
  }
  for (const n of shots) {
    // The slideshow follows the URL's fragment (#N is slide N).
    await page.evaluate((k) => { location.hash = `#${k}` }, n)
    await page.waitForFunction((k) => {
      const active = document.querySelector('svg.bespoke-marp-active > foreignObject > section')
      return active && active.id === String(k)
    }, { timeout: DEADLINE_MS }, n)
    const stem = basename(file).replace(/\.slides\.html$/, '').replace(/\.html$/, '')
    const path = join(opts.shotDir || dirname(file), `${stem}.slide-${n}.png`)
    await page.screenshot({ path })
    pictures.push(basename(path))
  }
  await page.close()
  return { count, report, errors, pictures }
}

// A deck with one fault per slide, and the words the check must say.
const BROKEN_DECK = `---
marp: true
---

## Too tall

${Array.from({ length: 30 }, (_, i) => `- line ${i + 1}`).join('\n')}

---

## Too wide

\`\`\`text
${'a wide diagram '.repeat(30)}
\`\`\`

---

## A picture that is not there

![missing](missing-picture.png)

---

## From the network

![remote](http://127.0.0.1:9/remote-picture.png)

---

## Fits

A short slide.
`
const BROKEN_EXPECTED = [
  /^slide 1: content is \d+px taller than the slide$/,
  /^slide 2: diagram 1 \("a wide diagram .*"\) is shrunk to \d+ % to fit the width$/,
  /^could not load file:.*missing-picture\.png/,
  /^console error: .*/,
  /^tried to load http:\/\/127\.0\.0\.1:9\/remote-picture\.png from the network$/
]

async function selfTest (browser) {
  const dir = mkdtempSync(join(tmpdir(), 'slides-selftest-'))
  try {
    const here = dirname(fileURLToPath(import.meta.url))
    const deck = join(dir, 'broken.md')
    const show = join(dir, 'broken.slides.html')
    writeFileSync(deck, BROKEN_DECK)
    const marp = spawnSync(join(here, 'node_modules', '.bin', 'marp'),
      ['--no-stdin', '--config-file', join(here, 'marp.config.mjs'), deck, '-o', show],
      { encoding: 'utf8', timeout: 120000 })
    if (marp.status !== 0) {
      console.log(`FAIL  self-test: Marp could not build the test deck: ${marp.error || marp.stderr}`)
      return false
    }
    const { count, report, errors } = await checkDeck(browser, show, { shots: [] })
    const found = [...report.flatMap(({ slide, problems }) => problems.map((p) => `slide ${slide}: ${p}`)),
      ...errors]
    const missed = BROKEN_EXPECTED.filter((re) => !found.some((line) => re.test(line)))
    const stray = found.filter((line) => line.startsWith('slide 5:'))
    const ok = count === 5 && missed.length === 0 && stray.length === 0
    console.log(`${ok ? 'ok  ' : 'FAIL'}  self-test: a deck made to fail, ${found.length} problems found`)
    if (count !== 5) console.log(`      expected 5 slides, found ${count}`)
    for (const re of missed) console.log(`      not found: ${re}`)
    for (const line of stray) console.log(`      on the slide that fits: ${line}`)
    if (!ok) for (const line of found) console.log(`      found: ${line}`)
    return ok
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function main () {
  const opts = parseArgs(process.argv.slice(2))
  if (opts.shotDir) mkdirSync(opts.shotDir, { recursive: true })
  const profile = mkdtempSync(join(tmpdir(), 'slides-chromium-'))
  const started = Date.now()
  let browser
  try {
    browser = await puppeteer.launch({
      executablePath: opts.browser,
      headless: true,
      userDataDir: profile,
      args: FLAGS,
      timeout: DEADLINE_MS,
      protocolTimeout: DEADLINE_MS
    })
  } catch (error) {
    rmSync(profile, { recursive: true, force: true })
    console.error(`check_slides.mjs: cannot start ${opts.browser}: ${error.message}`)
    return 2
  }
  let failed = 0
  let slides = 0
  try {
    if (opts.selfTest && !(await selfTest(browser))) failed++
    for (const file of opts.files) {
      const { count, report, errors, pictures } = await checkDeck(browser, file, opts)
      slides += count
      const bad = report.length + errors.length > 0 || count === 0
      if (bad) failed++
      console.log(`${bad ? 'FAIL' : 'ok  '}  ${file}: ${count} slides` +
        (pictures.length ? `, screenshots ${pictures.join(' ')}` : ''))
      if (count === 0) console.log('      no slides found: is this a Marp slideshow?')
      for (const { slide, title, problems } of report) {
        for (const problem of problems) console.log(`      slide ${slide} "${title}": ${problem}`)
      }
      for (const error of errors) console.log(`      ${error}`)
    }
  } finally {
    await browser.close()
    rmSync(profile, { recursive: true, force: true })
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  const total = opts.files.length + (opts.selfTest ? 1 : 0)
  console.log(`${slides} slides in ${opts.files.length} slideshows checked in ${seconds} s`)
  console.log(`slides: ${total - failed} passed, ${failed} failed`)
  return failed ? 1 : 0
}

main().then((code) => process.exit(code), (error) => {
  console.error(`check_slides.mjs: ${error.stack || error}`)
  process.exit(2)
})
