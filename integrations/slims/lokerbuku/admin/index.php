<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Circulation -> Book Lockers in SLiMS's admin, loaded by
// admin/plugin_container.php, which does not start the admin session:
// like SLiMS's bundled plugins, this page starts it (and checks the
// login as every module does), then checks the circulation privileges
// and a CSRF token of its own, and shows AdminPage. SLiMS loads it into
// its admin shell by AJAX, and its forms are submitted the same way.

defined('INDEX_AUTH') or die('Direct access not allowed!');

use Lokerbuku\Slims\AdminPage;
use Lokerbuku\Slims\Library;
use Lokerbuku\Slims\Store;
use Lokerbuku\Sync\Guard;
use Lokerbuku\Sync\Notify;

require LIB . 'ip_based_access.inc.php';
do_checkIP('smc');
do_checkIP('smc-circulation');
require SB . 'admin/default/session.inc.php';
require SB . 'admin/default/session_check.inc.php';

$lokerbukuCanRead = utility::havePrivilege('circulation', 'r');
$lokerbukuCanWrite = utility::havePrivilege('circulation', 'w');
if (!$lokerbukuCanRead) {
    die('<div class="errorBox">' . __('You are not authorized to view this section') . '</div>');
}
if (empty($_SESSION['lokerbuku_csrf'])) {
    $_SESSION['lokerbuku_csrf'] = bin2hex(random_bytes(16));
}
$lokerbukuDb = \SLiMS\DB::getInstance();
$lokerbukuDb->setAttribute(\PDO::ATTR_ERRMODE, \PDO::ERRMODE_EXCEPTION);
$lokerbukuSelf = ($_SERVER['PHP_SELF'] ?? 'plugin_container.php') . '?'
    . http_build_query(['mod' => $_GET['mod'] ?? 'circulation', 'id' => $_GET['id'] ?? '']);
$lokerbukuPage = new AdminPage(new Store($lokerbukuDb), $lokerbukuSelf, $_SESSION['lokerbuku_csrf'],
    (int) ($_SESSION['uid'] ?? 0));
// SLiMS strips and escapes $_POST; our fields are ids, digits and hex.
// No PHP warning may reach SLiMS's handler (an error page instead of ours).
try {
    // Messages that could not be sent before are tried again (a few, when due).
    try {
        Guard::run(fn() => (new Notify(new Store($lokerbukuDb)))->retryDue());
    } catch (\Throwable $lokerbukuError) {
        Guard::log(new Library($lokerbukuDb), 'retrying notifications: ' . Guard::describe($lokerbukuError));
    }
    echo Guard::run(fn() => $lokerbukuPage->act($_SERVER['REQUEST_METHOD'] === 'POST' ? $_POST : [],
        $lokerbukuCanWrite));
    echo Guard::run(fn() => $lokerbukuPage->render());
} catch (\Throwable $lokerbukuError) {
    Guard::log(new Library($lokerbukuDb), 'staff page: ' . Guard::describe($lokerbukuError));
    echo '<div class="alert alert-danger">' . htmlspecialchars(__('The Book Lockers page failed; see System -> System Log.'))
        . '</div>';
}
