<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// The staff pages' front controller: sign-in with an INLISLite account
// (StaffAuth), a session cookie that is HttpOnly, Secure and
// SameSite=Strict, a CSRF token on every form, then StaffPage. Served
// over HTTPS only. Bahasa Indonesia unless staff choose English.

require dirname(__DIR__) . '/src/Bridge.php';

use Lokerbuku\Inlislite\Bridge;
use Lokerbuku\Inlislite\NotifyQueue;
use Lokerbuku\Inlislite\StaffAuth;
use Lokerbuku\Inlislite\StaffPage;
use Lokerbuku\Inlislite\StaffText;

Bridge::autoload();

/** Signed-in sessions end after this long without a request. */
const STAFF_IDLE_S = 1800;

header('Content-Type: text/html; charset=UTF-8');
header("Content-Security-Policy: default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
    . " frame-ancestors 'none'; base-uri 'none'");
header('X-Content-Type-Options: nosniff');
header('Referrer-Policy: no-referrer');
header('Cache-Control: no-store');

function staff_h($s): string
{
    return htmlspecialchars((string) $s, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
}

function staff_page(StaffText $t, string $body, ?array $user, string $csrf): void
{
    $lang = $t->lang();
    echo '<!DOCTYPE html><html lang="' . $lang . '"><head><meta charset="utf-8">'
        . '<meta name="viewport" content="width=device-width, initial-scale=1">'
        . '<title>' . staff_h($t->t('Book lockers')) . ' — INLISLite</title>'
        . '<link rel="stylesheet" href="style.css"></head><body><header><h1>' . staff_h($t->t('Book lockers')) . '</h1>'
        . '<nav><a href="?lang=id"' . ($lang === 'id' ? ' aria-current="true"' : '') . '>Bahasa Indonesia</a> · '
        . '<a href="?lang=en"' . ($lang === 'en' ? ' aria-current="true"' : '') . '>English</a>';
    if ($user !== null) {
        echo ' · <span class="who">' . staff_h($t->t('Signed in as {name}', ['name' => $user['name']])) . '</span> '
            . '<form method="post" class="inline"><input type="hidden" name="csrf" value="' . staff_h($csrf) . '">'
            . '<input type="hidden" name="action" value="logout"><button>' . staff_h($t->t('Sign out'))
            . '</button></form>';
    }
    echo '</nav></header><main>' . $body . '</main></body></html>';
}

$https = (!empty($_SERVER['HTTPS']) && $_SERVER['HTTPS'] !== 'off') || (int) ($_SERVER['SERVER_PORT'] ?? 0) === 443;
if (!$https) {
    http_response_code(403);
    echo 'The staff pages are served over HTTPS only. / Halaman petugas hanya melalui HTTPS.';
    exit;
}

ini_set('session.use_strict_mode', '1');
ini_set('session.use_only_cookies', '1');
ini_set('session.use_trans_sid', '0');
session_name('lokerbuku_staff');
session_set_cookie_params(['lifetime' => 0, 'path' => rtrim(dirname($_SERVER['SCRIPT_NAME']), '/') . '/',
    'secure' => true, 'httponly' => true, 'samesite' => 'Strict']);
session_start();

if (isset($_GET['lang']) && in_array($_GET['lang'], ['id', 'en'], true)) {
    $_SESSION['lang'] = $_GET['lang'];
}
$t = new StaffText($_SESSION['lang'] ?? 'id');
$_SESSION['csrf'] ??= bin2hex(random_bytes(32));
$user = $_SESSION['staff'] ?? null;
if ($user !== null && time() - (int) ($_SESSION['seen'] ?? 0) > STAFF_IDLE_S) {
    $user = null;
    unset($_SESSION['staff']);
}

try {
    $bridge = Bridge::fromConfig();
    $db = $bridge->db();
    $store = $bridge->store();
    $tz = (string) $bridge->config('timezone', 'Asia/Jakarta');
    $notify = NotifyQueue::ofBridge($bridge);
} catch (\Throwable $e) {
    error_log('lokerbuku staff: ' . $e->getMessage());
    http_response_code(503);
    staff_page($t, '<p class="note note-warning">The bridge is not set up (see the web server\'s error log).'
        . ' / Jembatan belum disiapkan (lihat log galat server web).</p>', null, '');
    exit;
}

$message = '';
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    if (!hash_equals($_SESSION['csrf'], (string) ($_POST['csrf'] ?? ''))) {
        http_response_code(403);
        $message = '<p class="note note-warning" role="alert">' . staff_h($t->t('The form has expired; please try again.'))
            . '</p>';
    } elseif (($_POST['action'] ?? '') === 'login') {
        try {
            $ip = (string) ($_SERVER['REMOTE_ADDR'] ?? '');
            $u = (new StaffAuth($db, $bridge->version()->name() === '3.3'))->login((string) ($_POST['username'] ?? ''),
                (string) ($_POST['password'] ?? ''), $ip);
            if ($u === null) {
                http_response_code(403);
                $message = '<p class="note note-warning" role="alert">' . staff_h($t->t('Wrong user name or password.'))
                    . '</p>';
            } else {
                session_regenerate_id(true);
                $_SESSION['staff'] = $user = $u;
                $_SESSION['csrf'] = bin2hex(random_bytes(32));
                $_SESSION['seen'] = time();
                header('Location: ' . $_SERVER['SCRIPT_NAME'], true, 303);
                exit;
            }
        } catch (\RuntimeException $e) {
            http_response_code(429);
            $message = '<p class="note note-warning" role="alert">'
                . staff_h($t->t('Too many failed sign-ins: wait 15 minutes.')) . '</p>';
        }
    } elseif (($_POST['action'] ?? '') === 'logout') {
        $_SESSION = [];
        session_regenerate_id(true);
        header('Location: ' . $_SERVER['SCRIPT_NAME'], true, 303);
        exit;
    } elseif ($user !== null) {
        $page = new StaffPage($store, $notify, $t, $_SESSION['csrf'], (int) $user['id'], $tz);
        $message = $page->act($_POST);
    }
}

if ($user === null) {
    staff_page($t, $message . '<form method="post" class="login"><p>' . staff_h($t->t('Sign in with your INLISLite account.'))
        . '</p><input type="hidden" name="csrf" value="' . staff_h($_SESSION['csrf']) . '">'
        . '<input type="hidden" name="action" value="login">'
        . '<label>' . staff_h($t->t('User name')) . ' <input name="username" required autocomplete="username"></label>'
        . '<label>' . staff_h($t->t('Password')) . ' <input name="password" type="password" required'
        . ' autocomplete="current-password"></label><button>' . staff_h($t->t('Sign in')) . '</button></form>', null, '');
    exit;
}
$_SESSION['seen'] = time();
// Messages due go out with staff's page views too (and with the kiosks' requests).
try {
    $notify->deliverDue();
} catch (\Throwable $e) {
    error_log('lokerbuku staff: delivering messages: ' . $e->getMessage());
}
$page = new StaffPage($store, $notify, $t, $_SESSION['csrf'], (int) $user['id'], $tz);
staff_page($t, $message . $page->render(), $user, $_SESSION['csrf']);
