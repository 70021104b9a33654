/** WhatsApp formatting of agent markdown: the shared renderer in ../meta/markdown.ts, WhatsApp's marks. */
export { hasLink, toWhatsAppText } from '../meta/markdown';
