import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';

/**
 * A signature drawn with a finger, a pen or a mouse. Pointer events cover all three; the canvas
 * takes `touch-action: none` so drawing does not scroll the page on a phone. The value is a PNG
 * data URL, redrawn when the component is shown again (a restored draft, the review page).
 */
export function SignaturePad({ id, value, onChange, disabled, label }: { id: string; value: string | undefined; onChange: (v: string | undefined) => void; disabled?: boolean; label: string }) {
  const { t } = useTranslation();
  const canvas = useRef<HTMLCanvasElement>(null);
  const drawing = useRef(false);
  const dirty = useRef(false);
  const [empty, setEmpty] = useState(!value);

  // Size the bitmap to the displayed size times the pixel ratio, so strokes are sharp.
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const ratio = window.devicePixelRatio || 1;
    const rect = c.getBoundingClientRect();
    c.width = Math.max(1, Math.round(rect.width * ratio));
    c.height = Math.max(1, Math.round(rect.height * ratio));
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.scale(ratio, ratio);
    ctx.lineWidth = 2.2;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.strokeStyle = '#111';
    if (value && value.startsWith('data:image/')) {
      const img = new Image();
      img.onload = () => ctx.drawImage(img, 0, 0, rect.width, rect.height);
      img.src = value;
    }
    // Only on mount: redrawing on every value change would blur the strokes being drawn.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const point = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    return { x: e.clientX - rect.left, y: e.clientY - rect.top };
  };
  const down = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (disabled) return;
    try {
      // Keeps the stroke when a finger slides past the edge; not every pointer can be captured.
      e.currentTarget.setPointerCapture(e.pointerId);
    } catch {
      /* drawing works without it */
    }
    drawing.current = true;
    const ctx = e.currentTarget.getContext('2d')!;
    const p = point(e);
    ctx.beginPath();
    ctx.moveTo(p.x, p.y);
    ctx.lineTo(p.x + 0.1, p.y + 0.1);
    ctx.stroke();
    dirty.current = true;
  };
  const move = (e: React.PointerEvent<HTMLCanvasElement>) => {
    if (!drawing.current) return;
    const ctx = e.currentTarget.getContext('2d')!;
    const p = point(e);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
  };
  const up = () => {
    if (!drawing.current) return;
    drawing.current = false;
    if (dirty.current && canvas.current) {
      setEmpty(false);
      onChange(canvas.current.toDataURL('image/png'));
    }
  };
  const clear = () => {
    const c = canvas.current;
    if (!c) return;
    c.getContext('2d')!.clearRect(0, 0, c.width, c.height);
    dirty.current = false;
    setEmpty(true);
    onChange(undefined);
  };

  return (
    <div className="signature">
      <canvas
        ref={canvas}
        id={id}
        className="signature-canvas"
        role="img"
        aria-label={empty ? t('registrations.fields.signatureEmpty', { label }) : t('registrations.fields.signatureSigned', { label })}
        data-signed={empty ? undefined : 'true'}
        onPointerDown={down}
        onPointerMove={move}
        onPointerUp={up}
        onPointerCancel={up}
        onPointerLeave={up}
      />
      {!disabled && (
        <div className="row">
          <span className="muted small">{t('registrations.fields.signatureHelp')}</span>
          <button type="button" className="btn btn-ghost" onClick={clear} disabled={empty}>
            {t('registrations.fields.signatureClear')}
          </button>
        </div>
      )}
    </div>
  );
}
