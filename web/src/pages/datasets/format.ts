export { formatBytes } from '../../format.js';
