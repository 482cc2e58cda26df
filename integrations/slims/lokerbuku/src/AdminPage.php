<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// The staff page under Circulation -> Book Lockers: reservations waiting
// and "send to locker kiosk X", holds in lockers with their expiry,
// kiosks (online or not, doors, faults, backlog) with remote commands,
// events that need staff, and set-up (kiosks, NFC cards, kiosk staff).
// act() takes a submitted form, render() makes the HTML; both are plain
// functions of the database, so they are tested without SLiMS. Every form
// is submitted by SLiMS's admin JavaScript (class submitViaAJAX) into its
// content area, so that staff stay inside SLiMS's admin shell.

namespace Lokerbuku\Slims;

use Lokerbuku\Sync\Credentials;
use Lokerbuku\Sync\Events;
use Lokerbuku\Sync\Notify;
use Lokerbuku\Sync\Text;

final class AdminPage
{
    /** A kiosk is online when its last heartbeat is at most this old. */
    public const ONLINE_S = 300;

    /** $uid: the SLiMS user signed in (their check-ins are made in their name). */
    public function __construct(private Store $store, private string $selfUrl, private string $csrf,
                                private int $uid = 0)
    {
    }

    private static function t(string $s): string
    {
        return function_exists('__') ? __($s) : $s;
    }

    private static function h($s): string
    {
        return htmlspecialchars((string) $s, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
    }

    private function form(string $action, string $inner, string $class = 'form-inline'): string
    {
        return '<form method="post" class="' . $class . ' submitViaAJAX" action="' . self::h($this->selfUrl) . '">'
            . '<input type="hidden" name="lokerbuku_csrf" value="' . self::h($this->csrf) . '">'
            . '<input type="hidden" name="action" value="' . self::h($action) . '">' . $inner . '</form>';
    }

    private function button(string $action, array $fields, string $label, string $class = 'btn btn-sm btn-default'): string
    {
        $inner = '';
        foreach ($fields as $k => $v) {
            $inner .= '<input type="hidden" name="' . self::h($k) . '" value="' . self::h($v) . '">';
        }
        return $this->form($action, $inner . '<button class="' . $class . '">' . self::h(self::t($label)) . '</button>',
            'd-inline');
    }

    /**
     * Carries out a submitted form; returns a message for staff (HTML).
     * $canWrite: SLiMS's write privilege on circulation.
     */
    public function act(array $post, bool $canWrite): string
    {
        if (!isset($post['action'])) {
            return '';
        }
        if (!$canWrite || !hash_equals($this->csrf, (string) ($post['lokerbuku_csrf'] ?? ''))) {
            return '<div class="alert alert-danger">' . self::h(self::t('You are not allowed to do this.')) . '</div>';
        }
        try {
            $extra = '';
            switch ($post['action']) {
            case 'route':
                $this->store->routeReservations((array) ($post['reserve'] ?? []), (string) ($post['kiosk'] ?? ''),
                    (string) ($post['size'] ?? 'small'));
                break;
            case 'route_items':
                $this->store->routeItems(trim((string) ($post['member'] ?? '')),
                    preg_split('/[\s,]+/', (string) ($post['items'] ?? '')), (string) ($post['kiosk'] ?? ''),
                    (string) ($post['size'] ?? 'small'));
                break;
            case 'cancel':
                $this->store->cancelHold((string) $post['hold'], 'cancelled by staff');
                break;
            case 'command':
                $this->store->addCommand((string) $post['kiosk'], (string) $post['type'],
                    isset($post['locker']) && $post['locker'] !== '' ? (int) $post['locker'] : null, null,
                    (string) ($post['reason'] ?? ''),
                    isset($post['from_seq']) && $post['from_seq'] !== '' ? (int) $post['from_seq'] : null);
                break;
            case 'ack':
                $this->store->db()->prepare('UPDATE lokerbuku_event SET attention = 2 WHERE event_id = ? AND attention = 1')
                    ->execute([(string) $post['event']]);
                break;
            case 'add_kiosk':
                // PIN required unless staff chose otherwise (issue 19, point 3).
                $token = $this->store->addKiosk((string) $post['kiosk'], (string) ($post['name'] ?? ''),
                    (int) ($post['user_id'] ?? $this->uid), 7, ($post['pin_required'] ?? '1') !== '0');
                $extra = $this->tokenNotice((string) $post['kiosk'], $token);
                break;
            case 'renew_token':
                $extra = $this->tokenNotice((string) $post['kiosk'], $this->store->renewToken((string) $post['kiosk']));
                break;
            case 'enrol':
                $this->store->enrolCard(trim((string) $post['member']), (string) $post['uid']);
                break;
            case 'staff':
                $cred = trim((string) $post['credential']);
                // A card number, or 'uid:' and the card's UID in hex.
                $cred = str_starts_with($cred, 'uid:') ? Credentials::uid(substr($cred, 4))
                    : Credentials::card(str_starts_with($cred, 'card:') ? substr($cred, 5) : $cred);
                if ($cred === null) {
                    throw new \InvalidArgumentException('a UID is 4, 7 or 10 bytes of hex');
                }
                // The kiosks chosen, or every kiosk when none is (each then holds the PIN hash).
                $this->store->setStaff($cred, (string) $post['pin'], (string) ($post['name'] ?? ''),
                    (string) ($post['role'] ?? 'staff'), array_map('strval', (array) ($post['kiosks'] ?? [])));
                break;
            case 'staff_kiosks':
                $this->store->setStaffKiosks((string) ($post['credential'] ?? ''),
                    array_map('strval', (array) ($post['kiosks'] ?? [])));
                break;
            case 'upgrade_staff_pins':
                [$upgraded, $kept] = $this->store->upgradeStaffPins();
                $extra = '<div class="alert alert-info">' . self::h(str_replace(['{upgraded}', '{kept}'],
                    [$upgraded, $kept], self::t('{upgraded} staff PIN hashes made costlier, {kept} kept.'))) . '</div>';
                break;
            case 'kiosk_settings':
                $this->store->setKioskSettings((string) $post['kiosk'], (int) ($post['hold_window_days'] ?? 0),
                    !empty($post['pin_required']), isset($post['user_id']) ? (int) $post['user_id'] : null,
                    !empty($post['auto_checkin']));
                break;
            case 'member_pin':
                $this->store->setMemberPin(trim((string) ($post['member'] ?? '')), trim((string) ($post['pin'] ?? '')));
                break;
            case 'resend':
                $hold = (string) ($post['hold'] ?? '');
                $h = $this->store->hold($hold);
                if (!$h || $h['state'] !== 'loaded') {
                    throw new \InvalidArgumentException("hold $hold is not in a locker");
                }
                if (!(new Notify($this->store))->send($hold)) {
                    $h = $this->store->hold($hold);
                    throw new \RuntimeException('patron not notified: ' . ($h['note'] ?? ''));
                }
                break;
            case 'checkin':
                $extra = $this->checkIn((string) ($post['event'] ?? ''), (string) ($post['items'] ?? ''));
                break;
            case 'remove_staff':
                $this->store->removeStaff((string) $post['credential']);
                break;
            case 'site_key_file':
                // Checked before it is saved: a bad path would stop every kiosk.
                $this->store->config()->setSiteKeyFile(trim((string) ($post['path'] ?? '')));
                break;
            default:
                return '';
            }
            return '<div class="alert alert-success">' . self::h(self::t('Saved.')) . '</div>' . $extra;
        } catch (\InvalidArgumentException | \RuntimeException $e) {
            return '<div class="alert alert-warning">'
                . self::h(str_replace('{why}', $e->getMessage(), self::t('Not done: {why}'))) . '</div>';
        }
    }

    /**
     * Staff check in the books of a return deposited at a kiosk: the
     * barcodes they took out of the return locker, in their own name.
     */
    private function checkIn(string $eventId, string $items): string
    {
        $st = $this->store->db()->prepare("SELECT kiosk_id FROM lokerbuku_event WHERE event_id = ?"
            . " AND type = 'return_deposited' AND attention = 1");
        $st->execute([$eventId]);
        $kiosk = $st->fetchColumn();
        if ($kiosk === false) {
            throw new \InvalidArgumentException('no such return waits');
        }
        $codes = array_values(array_unique(array_filter(preg_split('/[\s,]+/', $items), 'strlen')));
        if (!$codes || count($codes) > 64) {
            throw new \InvalidArgumentException('give the barcodes of the returned books (1 to 64)');
        }
        $events = new Events($this->store);
        $circulation = new Circulation($this->store->db());
        $lines = $this->store->transaction(function () use ($events, $circulation, $codes, $eventId, $kiosk) {
            $actor = $circulation->actor($this->uid ?: null, ' from book locker ' . $kiosk);
            [$lines] = $events->checkIn($codes, date('Y-m-d'), $actor);
            $this->store->db()->prepare('UPDATE lokerbuku_event SET attention = 2, outcome = ? WHERE event_id = ?')
                ->execute([Text::cut('checked in by staff: ' . implode('; ', $lines), 2000), $eventId]);
            return $lines;
        });
        return '<div class="alert alert-info">' . self::h(implode('; ', $lines)) . '</div>';
    }

    private function tokenNotice(string $kiosk, string $token): string
    {
        return '<div class="alert alert-info">' . self::h(str_replace('{kiosk}', $kiosk,
            self::t('New token for kiosk {kiosk} (shown once, put it in the kiosk\'s token file):')))
            . ' <code class="lokerbuku-token">' . self::h($token) . '</code></div>';
    }

    public function render(): string
    {
        return '<div class="lokerbuku">'
            . '<h2>' . self::h(self::t('Book Lockers')) . '</h2>'
            . $this->engineWarning() . $this->attention() . $this->returns() . $this->reservations() . $this->holds()
            . $this->kiosks() . $this->setup()
            . '</div>';
    }

    /**
     * SLiMS installs its tables as MyISAM unless told otherwise; then a
     * failed event cannot be rolled back in loan, reserve and fines.
     */
    public function myisamTables(): array
    {
        return $this->store->db()->query("SELECT TABLE_NAME FROM information_schema.TABLES"
            . " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('loan', 'reserve', 'fines', 'item', 'member')"
            . " AND ENGINE <> 'InnoDB' ORDER BY TABLE_NAME")->fetchAll(\PDO::FETCH_COLUMN);
    }

    private function engineWarning(): string
    {
        $t = $this->myisamTables();
        if (!$t) {
            return '';
        }
        return '<div class="alert alert-warning">' . self::h(str_replace('{tables}', implode(', ', $t),
            self::t('These SLiMS tables are not InnoDB, so a failed pickup cannot be undone in them: {tables}. Convert them (ALTER TABLE ... ENGINE=InnoDB).')))
            . '</div>';
    }

    private function table(array $head, array $rows, string $empty): string
    {
        if (!$rows) {
            return '<p class="text-muted">' . self::h(self::t($empty)) . '</p>';
        }
        $html = '<table class="s-table table table-sm"><thead><tr>';
        foreach ($head as $hd) {
            $html .= '<th>' . self::h(self::t($hd)) . '</th>';
        }
        $html .= '</tr></thead><tbody>';
        foreach ($rows as $r) {
            $html .= '<tr><td>' . implode('</td><td>', $r) . '</td></tr>';
        }
        return $html . '</tbody></table>';
    }

    private function kioskOptions(): string
    {
        $o = '';
        foreach ($this->store->kiosks() as $k) {
            $o .= '<option value="' . self::h($k['kiosk_id']) . '">' . self::h($k['kiosk_id']
                . ($k['name'] !== '' ? ' — ' . $k['name'] : '')) . '</option>';
        }
        return $o;
    }

    private function reservations(): string
    {
        $rows = $this->store->db()->query("SELECT r.reserve_id, r.member_id, m.member_name, r.item_code,"
            . " b.title, r.reserve_date,"
            . " (SELECT COUNT(*) FROM loan l WHERE l.item_code = r.item_code AND l.is_lent = 1 AND l.is_return = 0) AS lent"
            . " FROM reserve r LEFT JOIN member m ON m.member_id = r.member_id"
            . " LEFT JOIN biblio b ON b.biblio_id = r.biblio_id"
            . " WHERE NOT EXISTS (SELECT 1 FROM lokerbuku_hold_item hi JOIN lokerbuku_hold h ON h.hold_id = hi.hold_id"
            . "  WHERE hi.item_code = r.item_code AND h.member_id = r.member_id AND h.state IN ('pending', 'loaded'))"
            . " ORDER BY r.member_id, r.reserve_date LIMIT 500")->fetchAll(\PDO::FETCH_ASSOC);
        $out = [];
        foreach ($rows as $r) {
            $out[] = ['<input type="checkbox" name="reserve[]" value="' . (int) $r['reserve_id'] . '">',
                self::h($r['member_id'] . ' ' . $r['member_name']), self::h($r['item_code']),
                self::h($r['title']) . ($r['lent'] ? ' <span class="badge badge-warning">' . self::h(self::t('on loan')) . '</span>' : ''),
                self::h($r['reserve_date'])];
        }
        $sizes = '';
        foreach (Store::SIZES as $s) {
            $sizes .= '<option value="' . $s . '">' . self::h(self::t($s)) . '</option>';
        }
        $table = $this->table(['', 'Member', 'Item Code', 'Title', 'Reserve Date'], $out, 'No reservations wait.');
        return '<h3>' . self::h(self::t('Reservations waiting')) . '</h3>'
            . ($out ? $this->form('route', $table . self::h(self::t('Send to locker kiosk'))
                . ' <select name="kiosk" class="form-control">' . $this->kioskOptions() . '</select> '
                . self::h(self::t('Size')) . ' <select name="size" class="form-control">' . $sizes . '</select> '
                . '<button class="btn btn-primary">' . self::h(self::t('Send')) . '</button>', 'lokerbuku-route')
                : $table);
    }

    private function holds(): string
    {
        $db = $this->store->db();
        $rows = $db->query("SELECT h.*, m.member_name FROM lokerbuku_hold h LEFT JOIN member m ON m.member_id = h.member_id"
            . " WHERE h.state IN ('pending', 'loaded') ORDER BY h.state DESC, h.expires_at, h.hold_id LIMIT 1000")
            ->fetchAll(\PDO::FETCH_ASSOC);
        if (!$rows) {
            return '<h3>' . self::h(self::t('Holds in lockers')) . '</h3>'
                . '<p class="text-muted">' . self::h(self::t('No holds.')) . '</p>';
        }
        $html = '<h3>' . self::h(self::t('Holds in lockers')) . '</h3><table class="s-table table table-sm lokerbuku-holds"><thead><tr>';
        foreach (['Hold', 'Member', 'Item Code', 'Kiosk', 'Locker', 'State', 'Ready since', 'Expires', 'Notified', ''] as $hd) {
            $html .= '<th>' . self::h(self::t($hd)) . '</th>';
        }
        $html .= '</tr></thead><tbody>';
        foreach ($rows as $h) {
            $cells = [self::h($h['hold_id']), self::h($h['member_id'] . ' ' . $h['member_name']),
                self::h(implode(', ', $this->store->holdItems($h['hold_id']))), self::h($h['kiosk_id']),
                self::h($h['locker'] ?? '-'), self::h(self::t($h['state'])),
                self::h($this->local($h['ready_since'])), self::h($this->local($h['expires_at'])),
                $this->notified($h),
                $this->button('cancel', ['hold' => $h['hold_id']], 'Cancel', 'btn btn-sm btn-danger')];
            $html .= '<tr data-hold="' . self::h($h['hold_id']) . '"><td>' . implode('</td><td>', $cells) . '</td></tr>';
        }
        return $html . '</tbody></table>';
    }

    /** Whether the patron of a hold was told, with Resend when not. */
    private function notified(array $h): string
    {
        if ($h['state'] !== 'loaded') {
            return '-';
        }
        if ($h['notify_state'] === 'sent') {
            return self::h(self::t('sent'));
        }
        if ($h['notify_state'] === 'due' && $h['notify_tries'] == 0) {
            return self::h(self::t('sending'));
        }
        $next = $h['notify_next_at'] === null ? '' : ' ' . str_replace('{time}', $this->local($h['notify_next_at']),
            self::t('(tried again at {time})'));
        return '<span class="lokerbuku-not-notified text-danger" title="' . self::h($h['note'] ?? '') . '">'
            . self::h(self::t('patron not notified')) . '</span> <small>' . self::h(($h['note'] ?? '') . $next) . '</small> '
            . $this->button('resend', ['hold' => $h['hold_id']], 'Resend', 'btn btn-sm btn-warning');
    }

    /** Returns deposited at kiosks that staff have still to check in. */
    private function returns(): string
    {
        $rows = $this->store->db()->query("SELECT event_id, kiosk_id, at, payload, outcome FROM lokerbuku_event"
            . " WHERE type = 'return_deposited' AND attention = 1 AND outcome LIKE 'books await check-in%'"
            . ' ORDER BY at LIMIT 200')->fetchAll(\PDO::FETCH_ASSOC);
        $html = '<h3>' . self::h(self::t('Returns to check in')) . '</h3>';
        if (!$rows) {
            return $html . '<p class="text-muted">' . self::h(self::t('No returns wait.')) . '</p>';
        }
        $html .= '<table class="s-table table table-sm lokerbuku-returns"><thead><tr>';
        foreach (['Time', 'Kiosk', 'Locker', 'Item Code', ''] as $hd) {
            $html .= '<th>' . self::h(self::t($hd)) . '</th>';
        }
        $html .= '</tr></thead><tbody>';
        foreach ($rows as $e) {
            $p = json_decode($e['payload'], true);
            $codes = [];
            foreach (is_array($p) && isset($p['items']) && is_array($p['items']) ? $p['items'] : [] as $it) {
                if (is_array($it) && isset($it['barcode']) && is_string($it['barcode'])) {
                    $codes[] = $it['barcode'];
                }
            }
            $form = $this->form('checkin', '<input type="hidden" name="event" value="' . self::h($e['event_id']) . '">'
                . '<input type="text" name="items" class="form-control" required placeholder="'
                . self::h(self::t('Item Code')) . '" value="' . self::h(implode(' ', $codes)) . '"> '
                . '<button class="btn btn-sm btn-primary">' . self::h(self::t('Check in')) . '</button>');
            $html .= '<tr data-event="' . self::h($e['event_id']) . '"><td>' . self::h($this->local($e['at'])) . '</td><td>'
                . self::h($e['kiosk_id']) . '</td><td>' . self::h(is_array($p) && isset($p['locker']) ? $p['locker'] : '-')
                . '</td><td>' . self::h(implode(', ', $codes)) . '</td><td>' . $form . '</td></tr>';
        }
        return $html . '</tbody></table>';
    }

    private function local(?string $utc): string
    {
        if ($utc === null) {
            return '-';
        }
        return (new \DateTimeImmutable(substr($utc, 0, 19), new \DateTimeZone('UTC')))
            ->setTimezone(new \DateTimeZone(date_default_timezone_get()))->format('Y-m-d H:i');
    }

    private function kiosks(): string
    {
        $db = $this->store->db();
        $html = '<h3>' . self::h(self::t('Kiosks')) . '</h3>';
        $kiosks = $this->store->kiosks();
        if (!$kiosks) {
            return $html . '<p class="text-muted">' . self::h(self::t('No kiosks yet.')) . '</p>';
        }
        foreach ($kiosks as $k) {
            $s = $k['last_status'] === null ? null : json_decode($k['last_status'], true);
            $age = $k['last_status_at'] === null ? null
                : time() - (new \DateTimeImmutable(substr($k['last_status_at'], 0, 19), new \DateTimeZone('UTC')))->getTimestamp();
            $online = $age !== null && $age <= self::ONLINE_S;
            $html .= '<div class="card mb-2 lokerbuku-kiosk" data-kiosk="' . self::h($k['kiosk_id']) . '"><div class="card-body">'
                . '<h4>' . self::h($k['kiosk_id']) . ($k['name'] !== '' ? ' — ' . self::h($k['name']) : '') . ' '
                . ($online ? '<span class="badge badge-success">' . self::h(self::t('Online')) . '</span>'
                    : '<span class="badge badge-danger">' . self::h(self::t('Offline')) . '</span>') . '</h4>'
                . '<p>' . self::h(self::t('Last heartbeat')) . ': ' . self::h($this->local($k['last_status_at'] ?? null))
                . ' · ' . self::h(self::t('Backlog')) . ': ' . self::h(is_array($s) && isset($s['backlog']) && is_int($s['backlog']) ? $s['backlog'] : '-')
                . ' · ' . self::h(self::t('Faults')) . ': ';
            $faults = is_array($s) && isset($s['faults']) && is_array($s['faults']) ? array_filter($s['faults'], 'is_string') : [];
            $html .= $faults ? self::h(implode('; ', $faults)) : self::h(self::t('none'));
            $html .= '</p>';
            $rows = [];
            foreach ((is_array($s) && isset($s['lockers']) && is_array($s['lockers']) ? $s['lockers'] : []) as $l) {
                if (!is_array($l) || !isset($l['number']) || !is_int($l['number'])) {
                    continue;
                }
                $n = $l['number'];
                $state = [];
                $state[] = self::t(($l['door'] ?? '') === 'open' ? 'open' : 'closed');
                if (!empty($l['disabled'])) {
                    $state[] = self::t('disabled');
                }
                if (isset($l['fault']) && $l['fault'] !== 'none') {
                    $state[] = (string) $l['fault'];
                }
                if (!empty($l['alarm_forced_open'])) {
                    $state[] = 'forced_open';
                }
                if (!empty($l['alarm_left_open'])) {
                    $state[] = 'left_open';
                }
                $rows[] = [(string) $n, self::h(self::t((string) ($l['size'] ?? '')) . ' ' . ($l['kind'] ?? '')),
                    self::h(implode(', ', $state)), self::h($l['hold'] ?? ''),
                    $this->button('command', ['kiosk' => $k['kiosk_id'], 'type' => 'open_locker', 'locker' => $n], 'Open locker')
                    . ' ' . (!empty($l['disabled'])
                        ? $this->button('command', ['kiosk' => $k['kiosk_id'], 'type' => 'enable_locker', 'locker' => $n], 'Enable locker')
                        : $this->button('command', ['kiosk' => $k['kiosk_id'], 'type' => 'disable_locker', 'locker' => $n], 'Disable locker'))];
            }
            $html .= $this->table(['Locker', 'Size', 'Doors', 'Hold', ''], $rows, 'none');
            if ($differ = $this->store->lockerDifferences($k['kiosk_id'])) {
                $html .= '<div class="alert alert-warning lokerbuku-differ">'
                    . self::h(self::t("The kiosk's lockers differ from SLiMS's record: check at the kiosk")) . ': '
                    . self::h(implode('; ', $differ)) . '</div>';
            }
            $waiting = $db->prepare('SELECT COUNT(*) FROM lokerbuku_command WHERE kiosk_id = ? AND done_at IS NULL');
            $waiting->execute([$k['kiosk_id']]);
            $html .= '<p>' . self::h(self::t('Commands waiting')) . ': ' . (int) $waiting->fetchColumn() . ' '
                . $this->button('command', ['kiosk' => $k['kiosk_id'], 'type' => 'sync_now'], 'Sync now') . ' '
                // After a restore from a backup: the events taken since, again (sync v1.1 kiosks).
                . $this->button('command', ['kiosk' => $k['kiosk_id'], 'type' => 'resend_events',
                    'reason' => 'database restored'], 'Ask for its events again') . ' '
                . $this->button('renew_token', ['kiosk' => $k['kiosk_id']], 'New token') . '</p>'
                . $this->form('kiosk_settings', '<input type="hidden" name="kiosk" value="' . self::h($k['kiosk_id']) . '">'
                    . '<label>' . self::h(self::t('Hold window (days)')) . '</label> <input type="number" min="1" max="365"'
                    . ' name="hold_window_days" class="form-control" value="' . (int) $k['hold_window_days'] . '"> '
                    . '<label>' . self::h(self::t("SLiMS user for this kiosk's loans and returns")) . '</label> '
                    . $this->userSelect($k['user_id'] === null ? null : (int) $k['user_id']) . ' '
                    . '<label><input type="checkbox" name="pin_required" value="1"' . ($k['pin_required'] ? ' checked' : '')
                    . '> ' . self::h(self::t('Patrons must give their PIN')) . '</label> '
                    . '<label><input type="checkbox" name="auto_checkin" value="1"' . ($k['auto_checkin'] ? ' checked' : '')
                    . '> ' . self::h(self::t('Check in returns automatically')) . '</label> '
                    . '<button class="btn btn-default">' . self::h(self::t('Save')) . '</button>')
                . '</div></div>';
        }
        return $html;
    }

    private function userSelect(?int $selected): string
    {
        $o = '<select name="user_id" class="form-control" required>';
        if ($selected === null) {
            $o .= '<option value="">-</option>';
        }
        foreach ($this->store->users() as $id => $name) {
            $o .= '<option value="' . $id . '"' . ($id === $selected ? ' selected' : '') . '>' . self::h($name) . '</option>';
        }
        return $o . '</select>';
    }

    private function attention(): string
    {
        $rows = $this->store->db()->query("SELECT event_id, kiosk_id, type, at, payload, outcome FROM lokerbuku_event"
            . " WHERE attention = 1 AND NOT (type = 'return_deposited' AND outcome LIKE 'books await check-in%')"
            . ' ORDER BY at DESC LIMIT 200')->fetchAll(\PDO::FETCH_ASSOC);
        $out = [];
        foreach ($rows as $e) {
            $p = json_decode($e['payload'], true);
            $where = is_array($p) && isset($p['locker']) ? ' · ' . self::t('Locker') . ' ' . $p['locker'] : '';
            $out[] = [self::h($this->local($e['at'])), self::h($e['kiosk_id'] . $where), self::h($e['type']),
                self::h($e['outcome'] ?? ''), $this->button('ack', ['event' => $e['event_id']], 'Done')];
        }
        return '<h3>' . self::h(self::t('Needs attention')) . '</h3>'
            . $this->table(['Time', 'Kiosk', 'Event', 'What happened', ''], $out, 'Nothing needs attention.');
    }

    private function staffList(): string
    {
        $rows = [];
        foreach ($this->store->staff() as $s) {
            $where = $s['kiosks'] ? implode(', ', $s['kiosks']) : self::t('Every kiosk (each holds the PIN hash)');
            $rows[] = [self::h($s['name']), self::h($s['role']), '<code>' . self::h(substr($s['credential'], 0, 12)) . '…</code>',
                self::h($where), self::h(number_format($s['iterations'], 0, '', '.')),
                $this->form('staff_kiosks', '<input type="hidden" name="credential" value="' . self::h($s['credential']) . '">'
                    . $this->kioskMulti($s['kiosks']) . ' <button class="btn btn-sm btn-default">'
                    . self::h(self::t('Change kiosks')) . '</button>', 'd-inline') . ' '
                . $this->button('remove_staff', ['credential' => $s['credential']], 'Remove', 'btn btn-sm btn-danger')];
        }
        return $this->table(['Name', 'Role', 'Card', 'Kiosks', 'PIN hash iterations', ''], $rows, 'none')
            . $this->button('upgrade_staff_pins', [], 'Make older staff PIN hashes costlier (600,000 iterations)');
    }

    /** A choice of kiosks (kiosks[]): a staff card goes to the ones chosen, to every kiosk when none. */
    private function kioskMulti(array $selected = []): string
    {
        $o = '<select name="kiosks[]" multiple class="form-control" title="'
            . self::h(self::t('The kiosks this card opens; none: every kiosk')) . '">';
        foreach ($this->store->kiosks() as $k) {
            $o .= '<option value="' . self::h($k['kiosk_id']) . '"' . (in_array($k['kiosk_id'], $selected, true)
                ? ' selected' : '') . '>' . self::h($k['kiosk_id']) . '</option>';
        }
        return $o . '</select>';
    }

    private function setup(): string
    {
        $in = fn($name, $label, $type = 'text') => '<label>' . self::h(self::t($label)) . '</label> <input type="' . $type
            . '" name="' . $name . '" class="form-control" required> ';
        return '<h3>' . self::h(self::t('Send items to a locker without a reservation')) . '</h3>'
            . $this->form('route_items', $in('member', 'Member') . $in('items', 'Item Code')
                . '<select name="kiosk" class="form-control">' . $this->kioskOptions() . '</select> '
                . '<button class="btn btn-default">' . self::h(self::t('Send')) . '</button>')
            . '<h3>' . self::h(self::t('Add kiosk')) . '</h3>'
            . $this->form('add_kiosk', $in('kiosk', 'Kiosk ID') . $in('name', 'Name')
                . '<label>' . self::h(self::t("SLiMS user for this kiosk's loans and returns")) . '</label> '
                . $this->userSelect($this->uid ?: null) . ' '
                . '<label>' . self::h(self::t('Opening a locker needs')) . '</label> '
                . '<select name="pin_required" class="form-control">'
                . '<option value="1" selected>' . self::h(self::t("The card or member number and the member's PIN (recommended)")) . '</option>'
                . '<option value="0">' . self::h(self::t('The card or member number alone: quicker, but a copied card or a printed member number opens too')) . '</option>'
                . '</select> '
                . '<button class="btn btn-default">' . self::h(self::t('Add')) . '</button>')
            . '<h3>' . self::h(self::t('Member kiosk PIN')) . '</h3>'
            . $this->form('member_pin', $in('member', 'Member') . '<label>' . self::h(self::t('PIN (6 to 8 digits)'))
                . '</label> <input type="password" name="pin" class="form-control" required inputmode="numeric"'
                . ' pattern="[0-9]{6,8}" autocomplete="off"> '
                . '<button class="btn btn-default">' . self::h(self::t('Set PIN')) . '</button>')
            . '<h3>' . self::h(self::t('Enrol an NFC card')) . '</h3>'
            . $this->form('enrol', $in('member', 'Member') . $in('uid', 'Card UID (hex)')
                . '<button class="btn btn-default">' . self::h(self::t('Enrol')) . '</button>')
            . '<h3>' . self::h(self::t('Kiosk staff')) . '</h3>'
            . $this->form('staff', $in('credential', 'Staff card number or UID') . $in('pin', 'PIN (6 to 8 digits)', 'password')
                . $in('name', 'Name') . '<label>' . self::h(self::t('Kiosks')) . '</label> ' . $this->kioskMulti()
                . ' <button class="btn btn-default">' . self::h(self::t('Add')) . '</button>')
            . '<p class="text-muted">' . self::h(self::t('A staff card goes only to the kiosks chosen, so a stolen kiosk gives away'
                . ' only its own staff\'s PIN hashes; none chosen: every kiosk. Kiosks of firmware before sync v1.1 do not'
                . ' get staff cards of 600,000 iterations: update them.')) . '</p>'
            . $this->staffList()
            . '<h3>' . self::h(self::t('Site key file')) . '</h3>'
            . $this->form('site_key_file', '<input type="text" name="path" class="form-control" value="'
                . self::h($this->store->config()->get('site_key_file', '')) . '"> '
                . '<button class="btn btn-default">' . self::h(self::t('Save')) . '</button>');
    }
}
