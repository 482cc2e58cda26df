<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Circulation -> Book Lockers in SLiMS's admin (loaded by
// admin/plugin_container.php with the staff member's session): checks the
// circulation privileges, a CSRF token of our own, then shows AdminPage.

defined('INDEX_AUTH') or die('Direct access not allowed!');

use Lokerbuku\Slims\AdminPage;
use Lokerbuku\Slims\Store;

$lokerbukuCanRead = !class_exists('utility') || utility::havePrivilege('circulation', 'r');
$lokerbukuCanWrite = !class_exists('utility') || utility::havePrivilege('circulation', 'w');
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
$lokerbukuPage = new AdminPage(new Store($lokerbukuDb), $lokerbukuSelf, $_SESSION['lokerbuku_csrf']);
// SLiMS strips and escapes $_POST; our fields are ids, digits and hex.
echo $lokerbukuPage->act($_SERVER['REQUEST_METHOD'] === 'POST' ? $_POST : [], $lokerbukuCanWrite);
echo $lokerbukuPage->render();
