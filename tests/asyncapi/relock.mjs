// After changing the parser's version in package.json: `node relock.mjs` rewrites package-lock.json without
// installing anything, then drops the packages' funding links, so that the lockfile names no web address at all
// (.npmrc already keeps registry addresses out of it).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

execFileSync('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund'], { stdio: 'inherit' });
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
for (const entry of Object.values(lock.packages)) delete entry.funding;
writeFileSync('package-lock.json', JSON.stringify(lock, null, 2) + '\n');
