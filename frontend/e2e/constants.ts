export const ADMIN_EMAIL = 'admin@kiln.test';
export const ADMIN_PASSWORD = 'e2e-admin-password';
