<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// The bridge's staff page: a request for a member from item barcodes
// ("layanan tertutup"), OPAC bookings to import where INLISLite has them
// switched on, holds in lockers with their expiry and messages, returns
// deposited at kiosks for staff to check in, what circulation refused,
// kiosks (online, doors, faults, backlog) with remote commands, messages
// not sent, and set-up (kiosks, kiosk PINs, NFC cards). act() carries out a submitted form, render() makes the
// HTML; both are plain functions of the database. staff/index.php signs
// staff in and checks the CSRF token before either is called.

namespace Lokerbuku\Inlislite;

use Lokerbuku\Sync\Events;
use Lokerbuku\Sync\Credentials;
use Lokerbuku\Sync\Store;

final class StaffPage
{
    /** A kiosk is online when its last status is at most this old. */
    public const ONLINE_S = 300;
    public const SIZES = ['small', 'medium', 'large'];

    public function __construct(private Store $store, private ?NotifyQueue $notify, private StaffText $text,
                                private string $csrf, private int $uid, private string $tz = 'Asia/Jakarta')
    {
    }

    private function t(string $s, array $vars = []): string
    {
        return $this->text->t($s, $vars);
    }

    private static function h($s): string
    {
        return htmlspecialchars((string) $s, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
    }

    private function form(string $action, string $inner, string $class = 'row'): string
    {
        return '<form method="post" class="' . $class . '" data-action="' . self::h($action) . '">'
            . '<input type="hidden" name="csrf" value="' . self::h($this->csrf) . '">'
            . '<input type="hidden" name="action" value="' . self::h($action) . '">' . $inner . '</form>';
    }

    private function button(string $action, array $fields, string $label, string $class = ''): string
    {
        $inner = '';
        foreach ($fields as $k => $v) {
            $inner .= '<input type="hidden" name="' . self::h($k) . '" value="' . self::h($v) . '">';
        }
        return $this->form($action, $inner . '<button class="' . $class . '">' . self::h($this->t($label))
            . '</button>', 'inline');
    }

    /**
     * Carries out a submitted form (CSRF checked by the caller); returns
     * a message for staff (HTML).
     */
    public function act(array $post): string
    {
        try {
            $extra = '';
            switch ((string) ($post['action'] ?? '')) {
            case 'route_items':
                $member = trim((string) ($post['member'] ?? ''));
                $this->needMember($member);
                $kiosk = (string) ($post['kiosk'] ?? '');
                $hold = $this->store->routeItems($member, preg_split('/[\s,]+/', (string) ($post['items'] ?? ''),
                    -1, PREG_SPLIT_NO_EMPTY), $kiosk, $this->size($post));
                $extra = $this->note('info', $this->t('Hold {hold} made: staff load it at kiosk {kiosk}.',
                    ['hold' => $hold, 'kiosk' => $kiosk]));
                break;
            case 'route_bookings':
                $extra = $this->routeBookings((array) ($post['booking'] ?? []), (string) ($post['kiosk'] ?? ''),
                    $this->size($post));
                break;
            case 'cancel':
                $this->store->cancelHold((string) ($post['hold'] ?? ''), 'cancelled by staff');
                break;
            case 'command':
                $this->store->addCommand((string) ($post['kiosk'] ?? ''), (string) ($post['type'] ?? ''),
                    isset($post['locker']) && $post['locker'] !== '' ? (int) $post['locker'] : null, null,
                    'from the staff page',
                    isset($post['from_seq']) && $post['from_seq'] !== '' ? (int) $post['from_seq'] : null);
                break;
            case 'checkin':
                $extra = $this->checkIn((string) ($post['event'] ?? ''), (string) ($post['items'] ?? ''));
                break;
            case 'ack':
                $this->store->prepare('UPDATE {event} SET attention = 2 WHERE event_id = ? AND attention = 1')
                    ->execute([(string) ($post['event'] ?? '')]);
                break;
            case 'add_kiosk':
                $kiosk = trim((string) ($post['kiosk'] ?? ''));
                // The kiosk's loans and returns are made in the name of the
                // INLISLite user who adds it (CreateBy).
                // PIN required unless staff chose otherwise (issue 19, point 3).
                $token = $this->store->addKiosk($kiosk, (string) ($post['name'] ?? ''), $this->uid, 7,
                    ($post['pin_required'] ?? '1') !== '0');
                $extra = $this->tokenNotice($kiosk, $token);
                break;
            case 'kiosk_settings':
                // Returns wait for staff here: INLISLite's self-return refuses late items.
                $this->store->setKioskSettings((string) ($post['kiosk'] ?? ''), (int) ($post['hold_window_days'] ?? 0),
                    !empty($post['pin_required']));
                break;
            case 'renew_token':
                $kiosk = (string) ($post['kiosk'] ?? '');
                $extra = $this->tokenNotice($kiosk, $this->store->renewToken($kiosk));
                break;
            case 'member_pin':
                $member = trim((string) ($post['member'] ?? ''));
                $this->needMember($member);
                $pin = trim((string) ($post['pin'] ?? ''));
                $this->store->setMemberPin($member, !empty($post['remove']) ? null : $pin);
                break;
            case 'enrol':
                $member = trim((string) ($post['member'] ?? ''));
                $this->needMember($member);
                $this->store->enrolCard($member, trim((string) ($post['uid'] ?? '')));
                break;
            case 'staff':
                $extra = $this->staffCard($post);
                break;
            case 'staff_kiosks':
                $this->store->setStaffKiosks((string) ($post['credential'] ?? ''),
                    array_map('strval', (array) ($post['kiosks'] ?? [])));
                break;
            case 'remove_staff':
                $this->store->removeStaff((string) ($post['credential'] ?? ''));
                break;
            case 'upgrade_staff_pins':
                [$upgraded, $kept] = $this->store->upgradeStaffPins();
                $extra = $this->note('info', $this->t('{upgraded} staff PIN hashes made costlier, {kept} kept.',
                    ['upgraded' => $upgraded, 'kept' => $kept]));
                break;
            case 'resend':
                if ($this->notify === null) {
                    throw new \InvalidArgumentException('no channel to patrons is set up');
                }
                $this->notify->retryNow((int) ($post['message'] ?? 0));
                $this->notify->deliverDue(1);
                break;
            default:
                return '';
            }
            return $this->note('success', $this->t('Saved.')) . $extra;
        } catch (\PDOException $e) {
            // The database's words are for the log, not the page.
            $this->store->library()->log('staff page: ' . $e->getMessage());
            return $this->note('warning', $this->t('Not done: {why}', ['why' => $this->t('database error (see the log)')]));
        } catch (\InvalidArgumentException | \RuntimeException $e) {
            return $this->note('warning', $this->t('Not done: {why}', ['why' => $e->getMessage()]));
        }
    }

    /**
     * A kiosk staff card (a card number, or 'uid:' and the card's UID in
     * hex) with its PIN, sent only to the kiosks chosen (every kiosk when
     * none is: each then holds its PIN hash).
     */
    private function staffCard(array $post): string
    {
        $cred = trim((string) ($post['credential'] ?? ''));
        $cred = str_starts_with($cred, 'uid:') ? Credentials::uid(substr($cred, 4))
            : ($cred === '' ? null : Credentials::card(str_starts_with($cred, 'card:') ? substr($cred, 5) : $cred));
        if ($cred === null) {
            throw new \InvalidArgumentException($this->t('a card number, or uid: and 4, 7 or 10 bytes of hex'));
        }
        $kiosks = array_map('strval', (array) ($post['kiosks'] ?? []));
        $this->store->setStaff($cred, (string) ($post['pin'] ?? ''), trim((string) ($post['name'] ?? '')),
            (string) ($post['role'] ?? 'staff'), $kiosks);
        return $kiosks ? '' : $this->note('warning', $this->t('This card goes to every kiosk: each holds its PIN hash,'
            . ' and a stolen kiosk gives it away. Choose its kiosks.'));
    }

    /** A choice of kiosks (kiosks[]): a staff card goes to the ones chosen, to every kiosk when none. */
    private function kioskMulti(array $selected = []): string
    {
        $o = '<select name="kiosks[]" multiple>';
        foreach ($this->store->kiosks() as $k) {
            $o .= '<option value="' . self::h($k['kiosk_id']) . '"' . (in_array($k['kiosk_id'], $selected, true)
                ? ' selected' : '') . '>' . self::h($k['kiosk_id']) . '</option>';
        }
        return $o . '</select>';
    }

    private function kioskStaff(): string
    {
        $rows = [];
        foreach ($this->store->staff() as $s) {
            $rows['staff-' . substr($s['credential'], 0, 12)] = [self::h($s['name']), self::h($this->t($s['role'])),
                '<code>' . self::h(substr($s['credential'], 0, 12)) . '…</code>',
                self::h($s['kiosks'] ? implode(', ', $s['kiosks']) : $this->t('Every kiosk (each holds the PIN hash)')),
                self::h(number_format($s['iterations'], 0, ',', '.')),
                $this->form('staff_kiosks', '<input type="hidden" name="credential" value="' . self::h($s['credential'])
                    . '">' . $this->kioskMulti($s['kiosks']) . '<button>' . self::h($this->t('Change kiosks'))
                    . '</button>', 'inline') . ' '
                . $this->button('remove_staff', ['credential' => $s['credential']], 'Remove')];
        }
        $in = fn(string $name, string $label, string $extra = '') => $this->label($label,
            '<input name="' . $name . '" ' . $extra . '>');
        return '<h2>' . self::h($this->t('Kiosk staff')) . '</h2>'
            . '<p>' . self::h($this->t('A staff card goes only to the kiosks chosen, so a stolen kiosk gives away only'
                . ' its own staff\'s PIN hashes; none chosen: every kiosk. Kiosks of firmware before sync v1.1 do not get'
                . ' staff cards of 600,000 iterations: update them.')) . '</p>'
            . $this->form('staff', $in('credential', 'Staff card number or UID', 'required maxlength="70"')
                . $in('pin', 'PIN (6 to 8 digits)', 'required type="password" inputmode="numeric" pattern="[0-9]{6,8}"'
                    . ' autocomplete="off"')
                . $in('name', 'Name', 'maxlength="100"')
                . $this->label('Role', '<select name="role"><option value="staff">' . self::h($this->t('staff'))
                    . '</option><option value="admin">' . self::h($this->t('admin')) . '</option></select>')
                . $this->label('Kiosks', $this->kioskMulti())
                . '<button>' . self::h($this->t('Add')) . '</button>')
            . $this->table('staff', ['Name', 'Role', 'Card', 'Kiosks', 'PIN hash iterations', ''], $rows, 'none')
            . $this->button('upgrade_staff_pins', [], 'Make older staff PIN hashes costlier (600,000 iterations)');
    }

    private function note(string $kind, string $text): string
    {
        return '<p class="note note-' . $kind . '" role="status">' . self::h($text) . '</p>';
    }

    private function size(array $post): string
    {
        $s = (string) ($post['size'] ?? 'small');
        return in_array($s, self::SIZES, true) ? $s : 'small';
    }

    private function needMember(string $memberNo): void
    {
        if ($memberNo === '' || $this->store->library()->member($memberNo) === null) {
            throw new \InvalidArgumentException($this->t('no member {no} in INLISLite', ['no' => $memberNo]));
        }
    }

    /** Whether INLISLite's OPAC takes bookings (settingparameters IsBookingActivated). */
    public function bookingActive(): bool
    {
        $st = $this->store->db()->query("SELECT Value FROM settingparameters WHERE Name = 'IsBookingActivated' LIMIT 1");
        $v = strtolower(trim((string) $st->fetchColumn()));
        return in_array($v, ['1', 'true'], true);
    }

    /** OPAC bookings still running (collections.BookingMemberID/BookingExpiredDate), none in a hold yet. */
    public function bookings(): array
    {
        $rows = $this->store->db()->query('SELECT c.NomorBarcode, c.BookingMemberID, c.BookingExpiredDate, ct.Title,'
            . ' m.Fullname FROM collections c LEFT JOIN catalogs ct ON ct.ID = c.Catalog_id'
            . ' LEFT JOIN members m ON m.MemberNo = c.BookingMemberID'
            . " WHERE c.BookingMemberID IS NOT NULL AND c.BookingMemberID <> '' AND c.BookingExpiredDate > NOW()"
            . ' ORDER BY c.BookingMemberID, c.BookingExpiredDate LIMIT 500')->fetchAll(\PDO::FETCH_ASSOC);
        return array_values(array_filter($rows, fn($r) => $this->store->openHoldOf($r['NomorBarcode']) === null));
    }

    /** Routes booked items to a kiosk: one hold per member. */
    private function routeBookings(array $barcodes, string $kiosk, string $size): string
    {
        $booked = [];
        foreach ($this->bookings() as $b) {
            $booked[$b['NomorBarcode']] = $b['BookingMemberID'];
        }
        $per = [];
        foreach (array_unique(array_map('strval', $barcodes)) as $code) {
            if (!isset($booked[$code])) {
                throw new \InvalidArgumentException("$code: no running booking");
            }
            $per[$booked[$code]][] = $code;
        }
        if (!$per) {
            throw new \InvalidArgumentException('choose at least one booking');
        }
        $made = [];
        foreach ($per as $member => $codes) {
            $made[] = $this->store->routeItems((string) $member, $codes, $kiosk, $size);
        }
        return $this->note('info', $this->t('Hold {hold} made: staff load it at kiosk {kiosk}.',
            ['hold' => implode(', ', $made), 'kiosk' => $kiosk]));
    }

    /**
     * Staff check in the books a kiosk's return compartment held, in
     * their own name, as INLISLite's return writes them (Circulation):
     * one line per barcode, late days for staff to decide a fine on.
     */
    private function checkIn(string $eventId, string $items): string
    {
        $lines = [];
        // Today in the library's time zone (Bridge sets PHP's to it).
        foreach ((new Events($this->store))->checkInReturn($eventId, preg_split('/[\s,]+/', $items, -1,
            PREG_SPLIT_NO_EMPTY), date('Y-m-d'), $this->uid) as $code => $r) {
            $late = (int) ($r->data['late_days'] ?? 0);
            $lines[] = !$r->done ? $code . ': ' . $this->text->reasons($r->code)
                : $this->t($late > 0 ? '{code}: returned by {member}, {days} days late: a fine or suspension is'
                    . ' for staff to decide' : '{code}: returned by {member}', ['code' => $code,
                    'member' => $r->data['member_no'] ?? '-', 'days' => $late]);
        }
        return $this->note('info', implode('; ', $lines));
    }

    private function tokenNotice(string $kiosk, string $token): string
    {
        return '<p class="note note-info">' . self::h($this->t('New token for kiosk {kiosk} (shown once, put it in'
            . ' the kiosk\'s token file):', ['kiosk' => $kiosk])) . ' <code class="token">' . self::h($token)
            . '</code></p>';
    }

    private function local(?string $utc): string
    {
        if ($utc === null || $utc === '') {
            return '-';
        }
        return (new \DateTimeImmutable(substr($utc, 0, 19), new \DateTimeZone('UTC')))
            ->setTimezone(new \DateTimeZone($this->tz))->format('d-m-Y H:i');
    }

    private function table(string $class, array $head, array $rows, string $empty): string
    {
        if (!$rows) {
            return '<p class="empty">' . self::h($this->t($empty)) . '</p>';
        }
        $html = '<table class="' . $class . '"><thead><tr>';
        foreach ($head as $hd) {
            $html .= '<th>' . self::h($hd === '' ? '' : $this->t($hd)) . '</th>';
        }
        $html .= '</tr></thead><tbody>';
        foreach ($rows as $key => $r) {
            $html .= '<tr' . (is_string($key) ? ' data-key="' . self::h($key) . '"' : '') . '><td>'
                . implode('</td><td>', $r) . '</td></tr>';
        }
        return $html . '</tbody></table>';
    }

    private function kioskSelect(): string
    {
        $o = '<select name="kiosk" required>';
        foreach ($this->store->kiosks() as $k) {
            $o .= '<option value="' . self::h($k['kiosk_id']) . '">' . self::h($k['kiosk_id']
                . ($k['name'] !== '' ? ' — ' . $k['name'] : '')) . '</option>';
        }
        return $o . '</select>';
    }

    private function sizeSelect(): string
    {
        $o = '<select name="size">';
        foreach (self::SIZES as $s) {
            $o .= '<option value="' . $s . '">' . self::h($this->t($s)) . '</option>';
        }
        return $o . '</select>';
    }

    private function label(string $text, string $input): string
    {
        return '<label>' . self::h($this->t($text)) . ' ' . $input . '</label>';
    }

    public function render(): string
    {
        return '<section id="request">' . $this->request() . '</section>'
            . '<section id="bookings">' . $this->bookingSection() . '</section>'
            . '<section id="holds">' . $this->holds() . '</section>'
            . '<section id="returns">' . $this->returns() . '</section>'
            . '<section id="refusals">' . $this->refusals() . '</section>'
            . '<section id="kiosks">' . $this->kiosks() . '</section>'
            . '<section id="messages">' . $this->messages() . '</section>'
            . '<section id="setup">' . $this->setup() . '</section>';
    }

    private function request(): string
    {
        return '<h2>' . self::h($this->t('Request for a member (layanan tertutup)')) . '</h2>'
            . $this->form('route_items', $this->label('Member number', '<input name="member" required maxlength="50">')
                . $this->label('Item barcodes', '<textarea name="items" rows="3" required placeholder="'
                    . self::h($this->t('one per line')) . '"></textarea>')
                . $this->label('Kiosk', $this->kioskSelect()) . $this->label('Size', $this->sizeSelect())
                . '<button>' . self::h($this->t('Send to the locker')) . '</button>');
    }

    private function bookingSection(): string
    {
        $html = '<h2>' . self::h($this->t('OPAC bookings')) . '</h2>';
        if (!$this->bookingActive()) {
            return $html . '<p class="empty">' . self::h($this->t('Booking is switched off in INLISLite'
                . ' (IsBookingActivated).')) . '</p>';
        }
        $rows = [];
        foreach ($this->bookings() as $b) {
            $rows[$b['NomorBarcode']] = ['<input type="checkbox" name="booking[]" value="' . self::h($b['NomorBarcode'])
                . '">', self::h($b['BookingMemberID'] . ' ' . ($b['Fullname'] ?? '')), self::h($b['NomorBarcode']),
                self::h($b['Title'] ?? ''), self::h(date('d-m-Y H:i', strtotime($b['BookingExpiredDate'])))];
        }
        $table = $this->table('bookings', ['', 'Member', 'Barcode', 'Title', 'Booked until'], $rows, 'No bookings wait.');
        return $html . ($rows ? $this->form('route_bookings', $table . $this->label('Kiosk', $this->kioskSelect())
            . $this->label('Size', $this->sizeSelect()) . '<button>' . self::h($this->t('Send to the locker'))
            . '</button>', 'block') : $table);
    }

    private function holds(): string
    {
        $rows = [];
        $holds = $this->store->query("SELECT h.* FROM {hold} h WHERE h.state IN ('pending', 'loaded')"
            . ' ORDER BY h.state DESC, h.expires_at, h.hold_id LIMIT 1000')->fetchAll(\PDO::FETCH_ASSOC);
        foreach ($holds as $h) {
            $m = $this->store->library()->member($h['member_id']);
            $rows[$h['hold_id']] = [self::h($h['hold_id']), self::h($h['member_id'] . ' ' . ($m?->name ?? '')),
                self::h(implode(', ', $this->store->holdItems($h['hold_id']))), self::h($h['kiosk_id']),
                self::h($h['locker'] ?? '-'), self::h($this->t($h['state'])), self::h($this->local($h['ready_since'])),
                self::h($this->local($h['expires_at'])), $this->told($h),
                $this->button('cancel', ['hold' => $h['hold_id']], 'Cancel', 'danger')];
        }
        return '<h2>' . self::h($this->t('Holds')) . '</h2>' . $this->table('holds', ['Hold', 'Member', 'Barcode',
            'Kiosk', 'Locker', 'State', 'Ready since', 'Expires', 'Patron told', ''], $rows, 'No holds.');
    }

    private function told(array $h): string
    {
        if ($h['state'] !== 'loaded') {
            return '-';
        }
        $out = [];
        foreach ($this->notify?->ofHold($h['hold_id']) ?? [] as $n) {
            $out[] = self::h(($n['channel'] === 'none' ? '' : $n['channel'] . ': ') . $this->t($n['state'])
                . ($n['last_error'] ? ' (' . $n['last_error'] . ')' : ''));
        }
        if (!$out && $h['note']) {
            $out[] = self::h($h['note']);
        }
        return $out ? implode('<br>', $out) : '-';
    }

    /** Returns deposited at kiosks that staff have still to check in. */
    private function returns(): string
    {
        $rows = [];
        foreach ((new Events($this->store))->returnsWaiting() as $e) {
            $rows[$e['event_id']] = [self::h($this->local($e['at'])), self::h($e['kiosk_id']),
                self::h($e['locker'] ?? '-'), self::h($e['items'] ? implode(', ', $e['items']) : '-'),
                $this->form('checkin', '<input type="hidden" name="event" value="' . self::h($e['event_id']) . '">'
                    . '<input name="items" required aria-label="' . self::h($this->t('Item barcodes')) . '" value="'
                    . self::h(implode(' ', $e['items'])) . '"> <button>' . self::h($this->t('Check in')) . '</button>',
                    'inline')];
        }
        return '<h2>' . self::h($this->t('Returns to check in')) . '</h2>'
            . '<p>' . self::h($this->t('Take the books out of the return locker, then check in the barcodes you hold'
                . ' (scanned or typed).')) . '</p>'
            . $this->table('returns', ['Time', 'Kiosk', 'Locker', 'Scanned at the kiosk', 'Item barcodes'], $rows,
                'No returns wait.');
    }

    private function refusals(): string
    {
        $rows = [];
        // Returns waiting for staff have their own list (returns()).
        $st = $this->store->prepare('SELECT event_id, kiosk_id, type, at, outcome FROM {event} WHERE attention = 1'
            . " AND NOT (type = 'return_deposited' AND outcome LIKE ?) ORDER BY at DESC LIMIT 200");
        $st->execute([Events::AWAITS_CHECKIN . '%']);
        foreach ($st->fetchAll(\PDO::FETCH_ASSOC) as $e) {
            $rows[$e['event_id']] = [self::h($this->local($e['at'])), self::h($e['kiosk_id']), self::h($e['type']),
                self::h($this->text->reasons((string) ($e['outcome'] ?? ''))), $this->button('ack', ['event' => $e['event_id']], 'Done')];
        }
        return '<h2>' . self::h($this->t('Refused by circulation')) . '</h2>'
            . $this->table('refusals', ['Time', 'Kiosk', 'Event', 'Outcome', ''], $rows, 'Nothing was refused.');
    }

    private function kiosks(): string
    {
        $html = '<h2>' . self::h($this->t('Kiosks')) . '</h2>';
        $kiosks = $this->store->kiosks();
        if (!$kiosks) {
            return $html . '<p class="empty">' . self::h($this->t('No kiosks yet.')) . '</p>';
        }
        foreach ($kiosks as $k) {
            $s = $k['last_status'] === null ? null : json_decode($k['last_status'], true);
            $s = is_array($s) ? $s : [];
            $age = $k['last_status_at'] === null ? null : time()
                - (new \DateTimeImmutable(substr($k['last_status_at'], 0, 19), new \DateTimeZone('UTC')))->getTimestamp();
            $online = $age !== null && $age <= self::ONLINE_S;
            $faults = isset($s['faults']) && is_array($s['faults']) ? array_filter($s['faults'], 'is_string') : [];
            $html .= '<div class="kiosk" data-kiosk="' . self::h($k['kiosk_id']) . '"><h3>' . self::h($k['kiosk_id'])
                . ($k['name'] !== '' ? ' — ' . self::h($k['name']) : '') . ' <span class="badge '
                . ($online ? 'online">' . self::h($this->t('Online')) : 'offline">' . self::h($this->t('Offline')))
                . '</span></h3><p>' . self::h($this->t('Last heartbeat')) . ': ' . self::h($this->local($k['last_status_at']))
                . ' · ' . self::h($this->t('Backlog')) . ': ' . self::h(isset($s['backlog']) && is_int($s['backlog'])
                    ? $s['backlog'] : '-')
                . ' · ' . self::h($this->t('Faults')) . ': <span class="faults">'
                . self::h($faults ? implode('; ', $faults) : $this->t('none')) . '</span></p>';
            $rows = [];
            foreach (isset($s['lockers']) && is_array($s['lockers']) ? $s['lockers'] : [] as $l) {
                if (!is_array($l) || !isset($l['number']) || !is_int($l['number'])) {
                    continue;
                }
                $n = $l['number'];
                $state = [$this->t(($l['door'] ?? '') === 'open' ? 'open' : 'closed')];
                if (!empty($l['disabled'])) {
                    $state[] = $this->t('disabled');
                }
                if (isset($l['fault']) && is_string($l['fault']) && $l['fault'] !== 'none') {
                    $state[] = $l['fault'];
                }
                $cmd = fn(string $type, string $label) => $this->button('command',
                    ['kiosk' => $k['kiosk_id'], 'type' => $type, 'locker' => $n], $label);
                $rows['locker-' . $n] = [(string) $n, self::h($this->t((string) ($l['size'] ?? ''))),
                    self::h(implode(', ', $state)), self::h(is_string($l['hold'] ?? null) ? $l['hold'] : ''),
                    $cmd('open_locker', 'Open locker') . ' ' . (!empty($l['disabled'])
                        ? $cmd('enable_locker', 'Enable locker') : $cmd('disable_locker', 'Disable locker'))];
            }
            $html .= $this->table('lockers', ['Locker', 'Size', 'Doors', 'Hold', ''], $rows, 'none');
            if ($differ = $this->store->lockerDifferences($k['kiosk_id'])) {
                $html .= $this->note('warning', $this->t("The kiosk's lockers differ from the bridge's record: check at"
                    . ' the kiosk') . ': ' . implode('; ', $differ));
            }
            $waiting = $this->store->prepare('SELECT COUNT(*) FROM {command} WHERE kiosk_id = ? AND done_at IS NULL');
            $waiting->execute([$k['kiosk_id']]);
            $html .= $this->form('kiosk_settings', '<input type="hidden" name="kiosk" value="' . self::h($k['kiosk_id'])
                . '">' . $this->label('Hold window (days)', '<input type="number" name="hold_window_days" min="1"'
                    . ' max="365" required value="' . (int) $k['hold_window_days'] . '">')
                . $this->label('Members must give their PIN', '<input type="checkbox" name="pin_required" value="1"'
                    . ($k['pin_required'] ? ' checked' : '') . '>')
                . '<button>' . self::h($this->t('Save')) . '</button>');
            $html .= '<p>' . self::h($this->t('Commands waiting')) . ': <span class="waiting">'
                . (int) $waiting->fetchColumn() . '</span> '
                . $this->button('command', ['kiosk' => $k['kiosk_id'], 'type' => 'sync_now'], 'Sync now') . ' '
                // After a restore from a backup: the events taken since, again (sync v1.1 kiosks).
                . $this->button('command', ['kiosk' => $k['kiosk_id'], 'type' => 'resend_events'],
                    'Ask for its events again') . ' '
                . $this->button('renew_token', ['kiosk' => $k['kiosk_id']], 'New token') . '</p></div>';
        }
        return $html;
    }

    private function messages(): string
    {
        $rows = [];
        foreach ($this->notify?->unsent(100) ?? [] as $n) {
            $rows['message-' . $n['id']] = [self::h($n['member_no'] . ' ' . $n['member_name']), self::h($n['channel']),
                self::h($n['address']), self::h($this->t($n['state'])), (int) $n['tries'],
                self::h($n['state'] === 'queued' ? $this->local($n['next_at']) : '-'), self::h($n['last_error'] ?? ''),
                $n['state'] === 'queued' ? $this->button('resend', ['message' => $n['id']], 'Send now') : ''];
        }
        return '<h2>' . self::h($this->t('Messages to members')) . '</h2>' . $this->table('messages', ['Member',
            'Channel', 'Address', 'State', 'Tries', 'Next try', 'Why', ''], $rows, 'All messages were sent.');
    }

    private function setup(): string
    {
        $in = fn(string $name, string $label, string $extra = '') => $this->label($label,
            '<input name="' . $name . '" required ' . $extra . '>');
        return $this->kioskStaff()
            . '<h2>' . self::h($this->t('Member kiosk PIN')) . '</h2>'
            . '<p>' . self::h($this->t('The kiosk PIN is the member\'s own for the lockers, never their INLISLite'
                . ' password.')) . '</p>'
            . $this->form('member_pin', $in('member', 'Member number', 'maxlength="50"')
                . $in('pin', 'PIN (6 to 8 digits)', 'type="password" inputmode="numeric" pattern="[0-9]{6,8}"'
                    . ' autocomplete="off"')
                . '<button>' . self::h($this->t('Set PIN')) . '</button>')
            . '<h2>' . self::h($this->t('Enrol an NFC card')) . '</h2>'
            . $this->form('enrol', $in('member', 'Member number', 'maxlength="50"')
                . $in('uid', 'Card UID (hex)', 'pattern="[0-9A-Fa-f:\s]{8,29}"')
                . '<button>' . self::h($this->t('Enrol')) . '</button>')
            . '<h2>' . self::h($this->t('Add a kiosk')) . '</h2>'
            . $this->form('add_kiosk', $in('kiosk', 'Kiosk ID', 'pattern="[A-Za-z0-9._\-]{1,63}"')
                . $this->label('Name', '<input name="name" maxlength="100">')
                . $this->label('Opening a locker needs', '<select name="pin_required">'
                    . '<option value="1" selected>' . self::h($this->t("The card or member number and the member's PIN (recommended)"))
                    . '</option><option value="0">' . self::h($this->t('The card or member number alone: quicker, but a copied card'
                    . ' or a printed member number opens too')) . '</option></select>')
                . '<button>' . self::h($this->t('Add')) . '</button>');
    }
}
