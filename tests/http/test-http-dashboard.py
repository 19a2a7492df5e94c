#!/usr/bin/env python3
"""test-http-dashboard.py - the web dashboard in headless Chromium against the engine under yate-sim (TAP).

Three simulated callers are in room 'main': 1001 (Alice) talks (a
recording of speech, looped), 1002 (Bob) and 1003 (Carol) are silent, and 1002 records
what it hears.  The engine serves the source tree's web/ folder
([http] web_root).  Chromium (selenium, chromedriver) shown:
- the page loads without a token and asks for one; a wrong token:
  "Token refused", no view;
- with an admin token: the room, its three callers by name and number,
  the connection marked live; Alice shows as talking (from the event
  stream, within a bounded wait), Bob and Carol not;
- a click on Alice's Mute: the page marks her muted, the API says so,
  and IN THE AUDIO Bob heard her speech before the click and silence after
  it (his recording, windows placed by the simulator's own clock of the
  mute);
- Invite by number: a number the simulator answers busy shows "Failed: the
  line is busy" live (from the call events), one that answers shows
  "Answered" and joins the room;
- Play: a prompt typed into the room's Play form is played, and Bob hears
  it (found by its content in his recording);
- RTP figures on demand;
- Conferences: one booked through the form (starting within its early-join
  window) is listed and the API has it; edited; another booked and
  cancelled; then Dora calls the booked conference's number with its PIN
  and the page lists its room and shows her in it, talking;
- History: 9001, kicked through the API, has its CDR in the table and in
  the CSV export;
- (a server without the schedule or history endpoints: those views say
  plainly that it does not have them);
- on a phone-sized window nothing is wider than the screen;
- signed out, nothing of the session is left on the page; a read-only
  token then sees the room and its callers but no action button, not even
  for a moment (the admin's rows are not shown again while its own load);
- when the engine stops, the page says it is reconnecting;
- no script error or blocked resource in the browser's console.
Screenshots of each view are kept in tests/http/dashboard-artifacts/ of
the build folder (docs/images/dashboard-*.png were made from them).
Skips (a SKIP line, not a pass) only when chromium, chromedriver or
selenium is missing, and not under CI=true.
"""
import glob
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httplib  # noqa: E402
import faultlib  # noqa: E402
import simlib  # noqa: E402

SYSTEM_PY = '/usr/bin/python3'  # Debian's python3-selenium is installed for it
try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PY) and \
            os.access(SYSTEM_PY, os.X_OK) and not os.environ.get('CE_DASHBOARD_REEXEC'):
        os.environ['CE_DASHBOARD_REEXEC'] = '1'
        os.execv(SYSTEM_PY, [SYSTEM_PY] + sys.argv)
    webdriver = None

tap = httplib.Tap()
if faultlib.built():
    tap.skip_all(faultlib.built())
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
DRIVER = shutil.which('chromedriver') or '/usr/bin/chromedriver'
if not (webdriver and CHROMIUM and os.access(DRIVER, os.X_OK)):
    tap.skip_all('needs chromium, chromium-driver and python3-selenium (tools/install-deps.sh): '
                 'chromium %s, chromedriver %s, selenium %s' % (
                     CHROMIUM or 'missing', DRIVER if os.access(DRIVER, os.X_OK) else 'missing',
                     'present' if webdriver else 'missing'))

READ, ADMIN = 'r3ad-dash-secret', 'adm1n-dash-secret'
WAIT = httplib.WAIT
ARTIFACTS = os.path.join(simlib.BUILDDIR, 'tests', 'http', 'dashboard-artifacts')
shutil.rmtree(ARTIFACTS, ignore_errors=True)
os.makedirs(ARTIFACTS)
DB_DIR = tempfile.mkdtemp(prefix='ce-dashboard-db-')  # the schedule's, where the server has one

eng = httplib.Engine('''
route ^800$ conf/main notify=conf-monitor/main speakers=true
at 0 call 1001 800 play=%s name=Alice
at 0.3 call 1002 800 play=silence name=Bob record=1002.wav
at 0.6 call 1003 800 play=silence name=Carol
callee 9001 answer delay=0.3
callee 9002 busy delay=0.5
route ^8100$ schedule/8100
on answered 9001 +0.3 call 2001 8100 play=%s name=Dora param.pin=4711
end 300
''' % (simlib.data('speech.wav'), simlib.data('speech.wav')), 'enabled=true\ntoken.viewer = read:%s\ntoken.chair = admin:%s\nweb_root=%s'
    % (httplib.sha256(READ), httplib.sha256(ADMIN), os.path.join(httplib.SRCDIR, 'web')),
    extra='[store]\nsqlite_path=%s/store.db\nspool_dir=%s/spool\n[conference]\nprompts_dir=%s\n'
    % (DB_DIR, DB_DIR, os.path.join(httplib.SRCDIR, 'conf', 'prompts')))
browser = None


def shot(name):
    path = os.path.join(ARTIFACTS, 'dashboard-%s.png' % name)
    browser.save_screenshot(path)
    return path


def until(pred, timeout=WAIT):
    """pred()'s first true value within @timeout (None if none); a failing lookup (an element
    not there yet, or redrawn meanwhile) counts as false."""
    end = time.monotonic() + timeout
    while True:
        try:
            v = pred()
        except (WebDriverException, IndexError):
            v = None
        if v or time.monotonic() > end:
            return v
        time.sleep(0.05)


def shown(css):
    """(element, text) of each element matching @css that is displayed.  The page redraws
    its tables as events come: an element replaced meanwhile (stale) is left out, not an
    error, so that a check or its diagnostic never dies of a redraw."""
    out = []
    for e in browser.find_elements(By.CSS_SELECTOR, css):
        try:
            if e.is_displayed():
                out.append((e, e.text))
        except WebDriverException:
            pass
    return out


def visible(css):
    return [e for e, t in shown(css)]


def texts(css):
    return [t for e, t in shown(css)]


def row(caller):
    rows = browser.find_elements(By.CSS_SELECTOR, 'tr.leg[data-caller="%s"]' % caller)
    return rows[0] if rows else None


# The table is redrawn as events come: a row's state is read in one script, at once.
ROW_STATE = '''const r = document.querySelector('tr.leg[data-caller="' + arguments[0] + '"]');
return r ? {talking: r.classList.contains('is-talking'),
            level: Number(r.querySelector('meter.level').value),
            flags: r.querySelector('.flags').innerText} : null;'''


def level(caller):
    r = browser.execute_script(ROW_STATE, caller)
    return r['level'] if r else None


def talking(caller):
    r = browser.execute_script(ROW_STATE, caller)
    return bool(r and r['talking'])


def flags(caller):
    r = browser.execute_script(ROW_STATE, caller)
    return r['flags'] if r else ''


def press(caller, action):
    """A real click on the caller's button; True once done (a redrawn row is looked up again)."""
    def click():
        browser.find_element(By.CSS_SELECTOR, 'tr.leg[data-caller="%s"] button[data-action="%s"]'
                             % (caller, action)).click()
        return True
    return until(click)


CALL_STATE = '''const li = [...document.querySelectorAll('#calls li.call')].filter(
    (l) => l.querySelector('.call-who').textContent === arguments[0])[0];
return li && li.offsetParent ? {state: li.dataset.state, text: li.innerText} : null;'''


def call_text(number):
    c = browser.execute_script(CALL_STATE, number)
    return c and c['text']


def call_shown(number, state):
    """The text of the invited call to @number while the page shows it in @state, else None."""
    c = browser.execute_script(CALL_STATE, number)
    return c['text'] if c and c['state'] == state else None


def sign_in(token):
    field = browser.find_element(By.ID, 'token')
    field.clear()
    field.send_keys(token)
    browser.find_element(By.ID, 'login-button').click()


def api_leg(caller, room='main'):
    st, hd, body = eng.get('/api/v1/rooms/' + room, READ)
    legs = [l for l in json.loads(body)['legs'] if l['caller'] == caller] if st == 200 else []
    return legs[0] if legs else None


def book(title, number, pin, starts_in):
    """Fill the form and save: @title on @number with @pin, starting in @starts_in seconds,
    for an hour."""
    until(lambda: visible('#conf-form'))
    for field, value in (('conf-name', title), ('conf-number', number), ('conf-pin', pin)):
        browser.find_element(By.ID, field).clear()
        browser.find_element(By.ID, field).send_keys(value)
    for field, t in (('conf-start', time.time() + starts_in),
                     ('conf-end', time.time() + starts_in + 3600)):
        # a datetime-local input takes its value through script (typing is locale-dependent)
        browser.execute_script('arguments[0].value = arguments[1]', browser.find_element(
            By.ID, field), time.strftime('%Y-%m-%dT%H:%M', time.localtime(t)))
    browser.find_element(By.ID, 'conf-save').click()


def schedule_through_page():
    """A server with the schedule: book a conference with the form (starting within its
    early-join window, so that Dora can call in later), see it listed, edit it; book another
    and cancel that one."""
    book('Board meeting', '8100', '4711', 120)
    listed = until(lambda: [r.text for r in visible('#confs tr[data-conf-id]')
                            if 'Board meeting' in r.text and 'scheduled' in r.text])
    tap.ok(listed and not visible('#error'), 'Conferences: booked through the form, listed',
           (listed, visible('#error') and browser.find_element(By.ID, 'error').text))
    st, hd, body = eng.get('/api/v1/conferences', READ)
    confs = json.loads(body).get('conferences', []) if st == 200 else []
    tap.ok([c['access_number'] for c in confs if c.get('title') == 'Board meeting'] == ['8100'],
           'the API has it, with its number', confs)
    shot('conference-booked')
    browser.find_element(By.CSS_SELECTOR, '#confs button[data-conf-action="edit"]').click()
    until(lambda: browser.find_element(By.ID, 'conf-name').get_attribute('value'))
    browser.find_element(By.ID, 'conf-name').send_keys(' (moved)')
    browser.find_element(By.ID, 'conf-save').click()
    tap.ok(until(lambda: [r for r in visible('#confs tr[data-conf-id]')
                          if 'Board meeting (moved)' in r.text]) and not visible('#error'),
           'Edit: the new title is saved and listed',
           visible('#error') and browser.find_element(By.ID, 'error').text)
    book('Standup', '8200', '', 7200)

    def cancel_standup():
        rows = [r for r, t in shown('#confs tr[data-conf-id]') if 'Standup' in t]
        if not rows:  # not listed yet
            return False
        rows[0].find_element(By.CSS_SELECTOR, 'button[data-conf-action="cancel"]').click()
        return True
    until(cancel_standup)
    until(lambda: browser.switch_to.alert).accept()
    tap.ok(until(lambda: [t for t in texts('#confs tr[data-conf-id]')
                          if 'Standup' in t and 'cancelled' in t]) and
           [t for t in texts('#confs tr[data-conf-id]')
            if 'Board meeting (moved)' in t and 'scheduled' in t],
           'Cancel: the other conference shows cancelled, the first one still scheduled')


def start_browser():
    o = webdriver.ChromeOptions()
    for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
              '--window-size=1280,860', '--force-device-scale-factor=1', '--lang=en-GB'):
        o.add_argument(a)
    o.binary_location = CHROMIUM
    o.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    o.add_experimental_option('prefs', {'download.default_directory': ARTIFACTS,
                                        'download.prompt_for_download': False})
    return webdriver.Chrome(service=Service(DRIVER), options=o)


def console_problems():
    """SEVERE console lines that are not an HTTP status the test caused on purpose."""
    return [e['message'] for e in browser.get_log('browser') if e.get('level') == 'SEVERE' and
            'the server responded with a status of' not in e['message']]


started = time.monotonic()
try:
    tap.ok(eng.port, 'the engine logs the port it listens on', eng.stderr('HTTP'))
    if not eng.port:
        tap.done()
    st, r = eng.wait(lambda s, d: s == 200 and d and d.get('participants') == 3,
                     '/api/v1/rooms/main', READ)
    tap.ok(r and r.get('participants') == 3, 'three callers are in room main', r)
    browser = start_browser()
    base = 'http://127.0.0.1:%d/' % eng.port

    # no token yet: the page asks for one; a wrong one is refused in plain words
    browser.get(base)
    tap.ok(until(lambda: visible('#token') and not visible('#view-rooms')),
           'the page loads without a token and asks for one')
    shot('sign-in')
    sign_in('not-a-token')
    err = until(lambda: browser.find_element(By.ID, 'error').is_displayed() and
                browser.find_element(By.ID, 'error').text)
    tap.ok(err and 'Token refused' in err and not visible('#view-rooms'),
           'a wrong token: "Token refused", no view', err)

    # an admin token: the room, its callers, who talks
    sign_in(ADMIN)
    tap.ok(until(lambda: row('1001') and row('1002') and row('1003')),
           'signed in with an admin token: the room and its three callers')
    names = until(lambda: all(n in browser.find_element(By.ID, 'legs').text
                              for n in ('Alice', 'Bob', 'Carol')) and
                  browser.find_element(By.ID, 'legs').text)
    tap.ok(names and all(n in names for n in ('1001', '1002', '1003')),
           'each caller by name (from the events) and number', names)
    tap.ok(until(lambda: browser.find_element(By.ID, 'conn').text == 'Live'),
           'the connection is marked live', browser.find_element(By.ID, 'conn').text)
    tap.ok('chair (admin)' in browser.find_element(By.ID, 'who').text, 'the token\'s name and role show',
           browser.find_element(By.ID, 'who').text)
    tap.ok(until(lambda: talking('1001'), timeout=10),
           'Alice (speech) shows as talking, live from the event stream')
    tap.ok(not talking('1002') and not talking('1003'), 'Bob and Carol (silent) do not')
    # the level meters follow what the room hears (GET every second): Alice's speech moves
    # hers, the silent callers' stay at the bottom of the scale
    tap.ok(until(lambda: (level('1001') or -60) > -45, timeout=10) and
           level('1002') == -60 and level('1003') == -60,
           "Alice's level meter shows her speech, Bob's and Carol's show silence",
           (level('1001'), level('1002'), level('1003')))
    tap.ok(visible('button[data-room-action="lock"]') and visible('button[data-room-action="end"]'),
           'the admin sees the room\'s actions')
    tap.ok(visible('#invite'), 'the invite form: the OpenAPI document lists POST /api/v1/calls')
    shot('room')

    # mute Alice by a click; then the audio says whether Bob still hears her
    tap.ok(press('1001', 'mute') and until(lambda: 'muted' in flags('1001')),
           'a click on Mute: the page marks Alice muted', flags('1001'))
    tap.ok(until(lambda: api_leg('1001')['muted']), 'and the engine has her muted (API)')
    mutes = until(lambda: [m for m in eng.sim.events('message', name='chan.notify')
                           if m.get('params', {}).get('event') == 'mute'])
    tap.ok(mutes and eng.logged("HTTP token 'chair'", lambda t: 'mute' in t),
           'Yate is told (chan.notify event=mute) and the action is logged with the token\'s name',
           mutes)
    t_mute = mutes[0]['t'] if mutes else None
    heard_after = time.monotonic() + 3.0  # Bob's recording must run on past the mute

    # RTP figures on demand, then the other views
    press('1002', 'rtp')
    rtp = until(lambda: visible('tr.rtp-row') and visible('tr.rtp-row')[0].text)
    tap.ok(rtp and 'packets in' in rtp, 'RTP figures on demand', rtp)
    st, hd, body = eng.get('/api/v1/openapi.json', READ)
    served = json.loads(body)['paths'] if st == 200 else {}
    browser.find_element(By.CSS_SELECTOR, '#nav button[data-view="conferences"]').click()
    if '/api/v1/conferences' in served:
        schedule_through_page()
    else:
        tap.ok(until(lambda: visible('#conf-missing')),
               'Conferences: "not available on this server" (the endpoint answers 404 here)')
    shot('conferences')

    # a phone's screen
    browser.set_window_size(390, 844)
    browser.find_element(By.CSS_SELECTOR, '#nav button[data-view="rooms"]').click()
    until(lambda: flags('1001') is not None and row('1001').is_displayed())
    width = browser.execute_script(
        'return [document.documentElement.scrollWidth, window.innerWidth]')
    tap.ok(width[0] <= width[1], 'on a phone-sized window nothing is wider than the screen', width)
    shot('phone')
    browser.set_window_size(1280, 860)

    # invite by number: the simulator's 9002 is busy, and the page says so as it happens
    browser.find_element(By.ID, 'invite-number').send_keys('9002')
    browser.find_element(By.CSS_SELECTOR, '#invite button[type="submit"]').click()
    tap.ok(until(lambda: call_shown('9002', 'dialing')) or call_shown('9002', 'failed'),
           'Invite by number: the call shows at once (dialing, or already its outcome)',
           call_text('9002'))
    failed = until(lambda: call_shown('9002', 'failed'))
    tap.ok(failed and 'Failed' in failed and 'busy' in failed and not visible('#error'),
           'a busy number: "Failed: the line is busy", live from the call events', failed)
    # the simulator's 9001 answers and is a fourth leg of the room
    browser.find_element(By.ID, 'invite-number').send_keys('9001')
    browser.find_element(By.CSS_SELECTOR, '#invite button[type="submit"]').click()
    tap.ok(until(lambda: len(visible('tr.leg')) == 4 and row('9001')) and not visible('#error'),
           'Invite by number: the call is placed and the page shows 9001 in the room',
           (len(visible('tr.leg')), visible('#error') and browser.find_element(By.ID, 'error').text))
    answered = until(lambda: call_shown('9001', 'answered'))
    tap.ok(answered and 'Answered' in answered and call_shown('9002', 'failed'),
           'and its call shows "Answered", the busy one still failed', (answered, failed))
    st, hd, body = eng.get('/api/v1/calls', READ)
    calls = json.loads(body).get('calls', []) if st == 200 else []
    tap.ok([(c['number'], c['room'], c['state'], c['reason'], c['token']) for c in calls] ==
           [('9001', 'main', 'answered', None, 'chair'), ('9002', 'main', 'failed', 'busy', 'chair')],
           'the API has the calls: 9001 answered, 9002 failed busy, placed by the page\'s token',
           calls)
    shot('invited')

    # play a prompt to the room from the page; Bob hears it (checked in his recording below)
    while time.monotonic() < heard_after:  # not inside the window of the mute check
        time.sleep(0.1)
    tap.ok(visible('#play'), 'the Play form: the OpenAPI document lists the play action')
    browser.find_element(By.ID, 'play-file').send_keys('ended.wav')
    browser.find_element(By.CSS_SELECTOR, '#play button[type="submit"]').click()
    playing = until(lambda: browser.find_element(By.ID, 'play-status').text)
    tap.ok(playing and 'ended.wav' in playing and not visible('#error'),
           'Play: the page says the prompt plays', (playing, visible('#error') and
                                                     browser.find_element(By.ID, 'error').text))
    tap.ok(eng.logged("HTTP token 'chair'", lambda t: 'play ended.wav' in t),
           'the play is logged with the token\'s name')
    shot('play')
    browser.find_element(By.ID, 'play-file').clear()
    browser.find_element(By.ID, 'play-file').send_keys('nosuch.wav')
    browser.find_element(By.CSS_SELECTOR, '#play button[type="submit"]').click()
    refused = until(lambda: browser.find_element(By.ID, 'error').is_displayed() and
                    browser.find_element(By.ID, 'error').text)
    tap.ok(refused and 'nosuch.wav' in refused and 'no such file' in refused,
           'a file that is not there: the page says so', refused)
    played_until = time.monotonic() + len(simlib.prompt_samples('ended')) / 8000.0 + 1.0

    # Dora calls 8100 with its PIN once 9001 answered: the conference booked through the page
    # admits her, and the page shows its room, her in it, and that she talks
    if '/api/v1/conferences' in served:
        tap.ok(until(lambda: visible('button[data-room="8100"]')),
               'Dora calls the conference booked through the page, with its PIN: the page '
               'lists its room, 8100', [m.get('params') for m in eng.sim.events(
                   'message', name='call.execute')][-2:])
        until(lambda: visible('button[data-room="8100"]')[0].click() or True)
        tap.ok(until(lambda: row('2001') and 'Dora' in row('2001').text and talking('2001'),
                     timeout=10),
               'and shows her in it, talking (speech), live from the event stream',
               texts('tr.leg[data-caller="2001"]'))
        shot('scheduled-room')
        until(lambda: visible('button[data-room="main"]')[0].click() or True)
        until(lambda: row('1001'))

    # a read-only token: the room, no action buttons
    browser.find_element(By.ID, 'signout').click()
    until(lambda: visible('#token'))
    left = browser.execute_script(
        "return document.querySelectorAll('#legs tr, #rooms li, #confs tr, #cdrs tr').length")
    tap.ok(left == 0 and not visible('#room'),
           'signed out: nothing of the session is left on the page', left)
    sign_in(READ)
    tap.ok(until(lambda: row('1001') and row('1003') and
                 'viewer (read only)' in browser.find_element(By.ID, 'who').text),
           'a read-only token sees the room and its callers')
    buttons = until(lambda: browser.execute_script(
        "return [...document.querySelectorAll('#legs button')].filter((b) => b.offsetParent)"
        ".map((b) => b.dataset.action)"))
    tap.ok(buttons and set(buttons) == {'rtp'} and not visible('#room-actions button'),
           'and no action button (only the RTP figures)', buttons)
    shot('read-only')
    # History: 9001, kicked through the API, has its CDR in the table and in the CSV export
    leg = api_leg('9001')
    st = leg and eng.request('POST', '/api/v1/rooms/main/legs/%s/kick' %
                             urllib.parse.quote(leg['id'], safe=''), ADMIN)[0]
    tap.ok(st == 200 and until(lambda: not api_leg('9001')), '9001 kicked (through the API)', st)
    browser.find_element(By.CSS_SELECTOR, '#nav button[data-view="history"]').click()
    if '/api/v1/history/cdrs' in served:
        def cdr_listed():
            browser.find_element(By.ID, 'hist-refresh').click()  # the store writes a moment later
            return until(lambda: [r.text for r in visible('#cdrs tr') if '9001' in r.text], 1)
        cdr = until(cdr_listed)
        tap.ok(cdr and not visible('#hist-missing') and not visible('#error'),
               'History: the CDR table lists 9001\'s call', cdr or (
                   visible('#error') and browser.find_element(By.ID, 'error').text))
        browser.find_element(By.ID, 'hist-csv').click()
        csv = os.path.join(ARTIFACTS, 'conf-engine-cdrs.csv')
        tap.ok(until(lambda: os.path.exists(csv) and open(csv).readline().startswith('id,') and
                     '9001' in open(csv).read()),
               'Export CSV: the file is saved, with its header row and 9001\'s CDR',
               os.path.exists(csv) and open(csv).read(400))
    else:
        tap.ok(until(lambda: visible('#hist-missing')),
               'History: "not available on this server" (the endpoint answers 404 here)')
    shot('history')
    problems = console_problems()
    tap.ok(not problems, 'no script error or blocked resource in the console', problems)

    # the audio: before the click Bob heard Alice's speech, after it silence, then the prompt
    while time.monotonic() < played_until:
        time.sleep(0.1)
    httplib.ends_well(tap, eng)
    tap.ok(until(lambda: 'Reconnecting' in browser.find_element(By.ID, 'conn').text),
           'the engine gone: the page says it is reconnecting',
           browser.find_element(By.ID, 'conn').text)
    shot('reconnecting')
    samples = eng.recordings('1002')['1002']
    answered = eng.sim.events('answered', who='1002')
    if t_mute is not None and answered:
        at = t_mute - answered[0]['t']  # the mute, in seconds of Bob's recording
        before = simlib.window(samples, at - 2.0, at - 0.5)
        after = simlib.window(samples, at + 0.5, at + 2.5)
        tap.ok(len(before) > 8000 and simlib.level_dbfs(before) > -35,
               'before the click Bob heard Alice (her speech in his recording)',
               (at, len(samples), before and simlib.level_dbfs(before)))
        tap.ok(len(after) > 8000 and simlib.level_dbfs(after) < -45,
               'after it he hears nothing of her: silence in his recording',
               (len(after), after and simlib.level_dbfs(after)))
    else:
        tap.ok(False, 'the mute and Bob\'s answer are in the simulator\'s log', (t_mute, answered))
    corr, at = simlib.find_prompt(samples, simlib.prompt_samples('ended'))
    tap.ok(corr > 0.8, 'Bob heard the prompt played from the page (ended.wav, by its content)',
           (round(corr, 2), at))
    print('# dashboard test: %.1f s; screenshots in %s: %s' % (
        time.monotonic() - started, ARTIFACTS,
        ' '.join(sorted(os.path.basename(p) for p in glob.glob(ARTIFACTS + '/*.png')))))
finally:
    if browser:
        browser.quit()
    eng.close()
    shutil.rmtree(DB_DIR, ignore_errors=True)
tap.done()
