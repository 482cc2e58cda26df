<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// The stand-in's index.php for `php -S`: like SLiMS, it sanitizes $_GET and
// $_SERVER, and for p=api/... runs the hook custom_api_route with a router
// whose base path is 'api', then runs the router.

require __DIR__ . '/bootstrap.php';
standin_load_plugin();

// SLiMS escapes, trims and strips tags of every GET and SERVER string.
foreach (['_GET', '_SERVER'] as $g) {
    foreach ($GLOBALS[$g] as $k => $v) {
        if (is_string($v)) {
            $GLOBALS[$g][$k] = addslashes(strip_tags(trim($v)));
        }
    }
}

final class StandinRouter
{
    private array $routes = [];
    private string $basePath = '';

    public function setBasePath(string $p): void
    {
        $this->basePath = $p;
    }

    public function map(string $method, string $route, $target, ?string $name = null): void
    {
        $this->routes[] = [$method, $route, $target];
    }

    public function run(): void
    {
        $url = substr($_GET['p'] ?? '', strlen($this->basePath));
        if (($q = strpos($url, '?')) !== false) {
            $url = substr($url, 0, $q);
        }
        foreach ($this->routes as [$methods, $route, $target]) {
            if (stripos($methods, $_SERVER['REQUEST_METHOD']) === false) {
                continue;
            }
            $ok = $route[0] === '@' ? preg_match('`' . substr($route, 1) . '`u', $url) === 1 : $url === $route;
            if ($ok) {
                call_user_func($target);
                return;
            }
        }
        http_response_code(404);
        echo 'Not found!';
    }
}

$p = $_GET['p'] ?? '';
if (explode('/', $p)[0] === 'api') {
    $router = new StandinRouter();
    $router->setBasePath('api');
    \SLiMS\Plugins::getInstance()->execute('custom_api_route', ['router' => $router]);
    $router->run();
    exit;
}
http_response_code(404);
echo "stand-in: only index.php?p=api/... is here\n";
